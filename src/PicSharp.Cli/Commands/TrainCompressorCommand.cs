using System.CommandLine;
using System.Security.Cryptography;
using System.Text;
using PicSharp.Compression;
using PicSharp.CompressorTraining;
using PicSharp.Data;
using PicSharp.Evaluation;
using PicSharp.Modeling;
using PicSharp.Storage;
using PicSharp.Tokenization;
using PicSharp.Training;
using static TorchSharp.torch;

namespace PicSharp.Cli.Commands;

/// <summary>
/// `pic train-compressor`: trains a compressor (LoRA + memory and task tokens) against the frozen base model, on
/// corpus windows (autoencoding + LM continuation) or on SQuAD-format questions answered from memory.
/// </summary>
public static class TrainCompressorCommand
{
    const string Name = "pic train-compressor";
    static readonly CompressorTrainingOptions Defaults = new();

    public static Command Create()
    {
        var model = EngineOptions.ModelOption("frozen base model folder (config.json, model.safetensors, tokenizer.json)");
        var objective = new Option<string>("--objective") { Description = "pretrain (corpus windows: autoencoding + LM) or qa (SQuAD files)", DefaultValueFactory = _ => "pretrain" };
        objective.AcceptOnlyFromAmong("pretrain", "qa");
        var policy = new Option<string>("--policy") { Description = "global | pic | pic-causal-text | pic-recurrent", DefaultValueFactory = _ => Defaults.Compressor.Policy.Name() };
        var kind = new Option<string>("--kind") { Description = "embeddings | key-values", DefaultValueFactory = _ => KebabCase.Name(Defaults.Compressor.Kind) };
        var ratio = new Option<int>("--ratio") { Description = "context tokens per memory token", DefaultValueFactory = _ => Defaults.Compressor.Ratio };
        var chunkLength = new Option<int>("--chunk-length") { Description = "tokens per chunk (a multiple of the ratio)", DefaultValueFactory = _ => Defaults.Compressor.ChunkLength };
        var placement = new Option<string>("--placement") { Description = "interleaved | appended", DefaultValueFactory = _ => KebabCase.Name(Defaults.Compressor.Placement) };
        var positions = new Option<string>("--positions") { Description = "sequential | uniform", DefaultValueFactory = _ => KebabCase.Name(Defaults.Compressor.Positions) };
        var loraRank = new Option<int>("--lora-rank") { DefaultValueFactory = _ => Defaults.Compressor.Lora.Rank };
        var loraAlpha = new Option<double>("--lora-alpha") { DefaultValueFactory = _ => Defaults.Compressor.Lora.Alpha };
        var loraTargets = new Option<string>("--lora-targets") { Description = "comma-separated projections", DefaultValueFactory = _ => string.Join(',', Defaults.Compressor.Lora.TargetModules) };
        var decoderLoraRank = new Option<int>("--decoder-lora-rank") { Description = "rank of a LoRA adapter the decoder runs while reading memory, trained with the compressor; 0 = the paper's frozen decoder (anything else is a labelled deviation)", DefaultValueFactory = _ => 0 };
        var decoderLoraAlpha = new Option<double>("--decoder-lora-alpha") { Description = "with --decoder-lora-rank", DefaultValueFactory = _ => Defaults.Compressor.Lora.Alpha };
        var decoderLoraTargets = new Option<string>("--decoder-lora-targets") { Description = "with --decoder-lora-rank: comma-separated projections", DefaultValueFactory = _ => string.Join(',', Defaults.Compressor.Lora.TargetModules) };
        var decoderLoraLr = new Option<double?>("--decoder-lora-lr") { Description = "with --decoder-lora-rank: peak learning rate of the decoder adapter (default: --lr)" };
        var memoryInit = new Option<string>("--memory-init") { Description = "start of new memory and task tokens: random (normal at the vocabulary's spread) | vocab-mean (the vocabulary's mean embedding + small noise)", DefaultValueFactory = _ => KebabCase.Name(Defaults.MemoryInit) };
        var lr = new Option<double>("--lr") { Description = "peak learning rate of the LoRA matrices", DefaultValueFactory = _ => Defaults.LearningRate };
        var memoryLr = new Option<double>("--memory-lr") { Description = "peak learning rate of the memory and task tokens", DefaultValueFactory = _ => Defaults.MemoryLearningRate };
        var minLrRatio = new Option<double>("--min-lr-ratio") { Description = "final learning rate as a fraction of the peak", DefaultValueFactory = _ => Defaults.MinLearningRateRatio };
        var warmup = new Option<int>("--warmup") { Description = "linear warmup steps", DefaultValueFactory = _ => Defaults.WarmupSteps };
        var steps = new Option<int>("--steps") { Description = "optimizer steps", DefaultValueFactory = _ => Defaults.TotalSteps };
        var batch = new Option<int>("--batch") { Description = "examples per micro-batch", DefaultValueFactory = _ => Defaults.MicroBatchSize };
        var accumulation = new Option<int>("--accumulation") { Description = "micro-batches per optimizer step", DefaultValueFactory = _ => Defaults.GradientAccumulation };
        var clip = new Option<double>("--clip") { Description = "gradient norm limit", DefaultValueFactory = _ => Defaults.MaxGradNorm };
        var weightDecay = new Option<double>("--weight-decay") { Description = "AdamW decay of the LoRA matrices", DefaultValueFactory = _ => Defaults.WeightDecay };
        var seed = new Option<long>("--seed") { Description = "seeds initialisation and data order", DefaultValueFactory = _ => Defaults.Seed };
        var lmShare = new Option<double>("--lm-share") { Description = "pretrain: share of windows continued (LM) rather than reconstructed (AE)", DefaultValueFactory = _ => Defaults.LmShare };
        var window = new Option<int>("--window") { Description = "pretrain: context tokens per window", DefaultValueFactory = _ => Defaults.WindowLength };
        var continuation = new Option<int>("--continuation") { Description = "pretrain: tokens to continue after the window", DefaultValueFactory = _ => Defaults.ContinuationLength };
        var corpus = new Option<string>("--corpus") { Description = "pretrain text: a folder of .txt or a .jsonl with 'text'", DefaultValueFactory = _ => "data/corpus/train" };
        var validation = new Option<string>("--validation") { Description = "held-out text for the autoencoding probe, or none", DefaultValueFactory = _ => "data/corpus/validation" };
        var qa = new Option<FileInfo[]>("--qa") { Description = "qa: SQuAD v1.1 training file (repeatable)" };
        var devQa = new Option<FileInfo?>("--dev-qa") { Description = "SQuAD v1.1 file whose first --eval-samples questions are answered from memory at each probe" };
        var evalEvery = new Option<int>("--eval-every") { Description = "steps between dev probes", DefaultValueFactory = _ => Defaults.EvalEverySteps };
        var evalSamples = new Option<int>("--eval-samples") { Description = "held-out windows / dev questions per probe", DefaultValueFactory = _ => Defaults.EvalSamples };
        var checkpointMinutes = new Option<double>("--checkpoint-minutes") { DefaultValueFactory = _ => Defaults.CheckpointMinutes };
        var logEvery = new Option<int>("--log-every") { Description = "steps between log lines", DefaultValueFactory = _ => Defaults.LogEverySteps };
        var from = new Option<string?>("--from") { Description = "start from this compressor folder (its options are kept; --decoder-lora-* may add a decoder adapter to a folder without one)" };
        var resume = new Option<bool>("--resume") { Description = "continue OUT/checkpoint exactly (training options come from the checkpoint)" };
        var maxMinutes = new Option<double?>("--max-minutes") { Description = "stop cleanly with a checkpoint after this long" };
        var stopAtStep = new Option<int?>("--stop-at-step") { Description = "stop cleanly with a checkpoint at this step (the schedule still spans --steps)" };
        var tokenCache = new Option<string?>("--token-cache") { Description = "tokenized corpus cache (default OUT/train-tokens.bin; share one between runs)" };
        var threads = TorchThreads.Option();
        var dtype = DtypeOption.ForModel(null);
        var peak = PeakFlopsOption.Create();
        var output = new Option<DirectoryInfo>("--out") { Description = "run folder: checkpoint/ (a compressor folder), metrics.jsonl, loss.png", Required = true };

        Option[] shape = [policy, kind, ratio, chunkLength, placement, positions, loraRank, loraAlpha, loraTargets,
            decoderLoraRank, decoderLoraAlpha, decoderLoraTargets, memoryInit];
        Option[] decoderAdapterSettings = [decoderLoraAlpha, decoderLoraTargets];
        var resumeGuard = new ResumeGuard<CompressorTrainingOptions>(
        [
            (objective, o => o.Objective == CompressorObjective.Qa ? "qa" : "pretrain"), (policy, o => o.Compressor.Policy.Name()),
            (kind, o => KebabCase.Name(o.Compressor.Kind)), (ratio, o => o.Compressor.Ratio), (chunkLength, o => o.Compressor.ChunkLength),
            (placement, o => KebabCase.Name(o.Compressor.Placement)), (positions, o => KebabCase.Name(o.Compressor.Positions)),
            (loraRank, o => o.Compressor.Lora.Rank), (loraAlpha, o => o.Compressor.Lora.Alpha), (loraTargets, o => string.Join(',', o.Compressor.Lora.TargetModules)),
            (decoderLoraRank, o => o.Compressor.DecoderLora?.Rank ?? 0), (decoderLoraAlpha, o => o.Compressor.DecoderLora?.Alpha ?? Defaults.Compressor.Lora.Alpha),
            (decoderLoraTargets, o => string.Join(',', o.Compressor.DecoderLora?.TargetModules ?? Defaults.Compressor.Lora.TargetModules)),
            (memoryInit, o => KebabCase.Name(o.MemoryInit)), (decoderLoraLr, o => o.DecoderLearningRate ?? o.LearningRate),
            (lr, o => o.LearningRate), (memoryLr, o => o.MemoryLearningRate), (minLrRatio, o => o.MinLearningRateRatio), (warmup, o => o.WarmupSteps),
            (steps, o => o.TotalSteps), (batch, o => o.MicroBatchSize), (accumulation, o => o.GradientAccumulation), (clip, o => o.MaxGradNorm),
            (weightDecay, o => o.WeightDecay), (seed, o => o.Seed), (lmShare, o => o.LmShare), (window, o => o.WindowLength),
            (continuation, o => o.ContinuationLength), (evalEvery, o => o.EvalEverySteps), (evalSamples, o => o.EvalSamples),
        ]);
        var command = new Command("train-compressor", "Train a compressor (LoRA + memory tokens) against the frozen base model: autoencoding/LM pretraining or QA")
        {
            model, objective, policy, kind, ratio, chunkLength, placement, positions, loraRank, loraAlpha, loraTargets,
            decoderLoraRank, decoderLoraAlpha, decoderLoraTargets, decoderLoraLr, memoryInit, lr, memoryLr,
            minLrRatio, warmup, steps, batch, accumulation, clip, weightDecay, seed, lmShare, window, continuation, corpus, validation,
            qa, devQa, evalEvery, evalSamples, checkpointMinutes, logEvery, from, resume, maxMinutes, stopAtStep, tokenCache, threads, dtype.Option, peak, output,
        };
        command.SetAction(parse => CommandErrors.Run(Name, () =>
        {
            TorchThreads.Set(parse.GetValue(threads));
            string? fromDir = parse.GetValue(from);
            // --from keeps the folder's shape; the one thing it may add is a decoder adapter, to a folder without one.
            var folderOptions = fromDir is null ? null : CompressorFolder.ReadOptions(fromDir);
            bool addsDecoderAdapter = folderOptions is { DecoderLora: null } && parse.GetResult(decoderLoraRank) is { Implicit: false };
            var explicitShape = shape.Where(o => parse.GetResult(o) is { Implicit: false })
                .Where(o => !(addsDecoderAdapter && (o == decoderLoraRank || decoderAdapterSettings.Contains(o)))).Select(o => o.Name).ToList();
            if (fromDir is not null && explicitShape.Count > 0)
                throw new InvalidInputException($"--from keeps the options of {fromDir}" +
                    (folderOptions!.DecoderLora is not null && explicitShape.Contains(decoderLoraRank.Name) ? " (its decoder adapter included)" : "") +
                    $"; drop {string.Join(", ", explicitShape)}");
            int decoderRank = parse.GetValue(decoderLoraRank);
            if (decoderRank < 0) throw new InvalidInputException($"--decoder-lora-rank must be ≥ 0 (0 = the paper's frozen decoder), got {decoderRank}");
            var orphanSettings = decoderAdapterSettings.Where(o => parse.GetResult(o) is { Implicit: false }).Select(o => o.Name).ToList();
            if (decoderRank == 0 && orphanSettings.Count > 0)
                throw new InvalidInputException($"{string.Join(", ", orphanSettings)} set(s) up a decoder adapter; give --decoder-lora-rank R too (R > 0)");
            var decoderLora = decoderRank == 0 ? null : new LoraOptions
            {
                Rank = decoderRank, Alpha = parse.GetValue(decoderLoraAlpha), TargetModules = Targets(parse.GetValue(decoderLoraTargets)!),
            };
            var options = new CompressorTrainingOptions
            {
                Compressor = folderOptions is not null ? folderOptions with { DecoderLora = folderOptions.DecoderLora ?? decoderLora } : new CompressorOptions
                {
                    Policy = ParsePolicy(parse.GetValue(policy)!),
                    Kind = ParseKebab<MemoryKind>("--kind", parse.GetValue(kind)!),
                    Ratio = parse.GetValue(ratio),
                    ChunkLength = parse.GetValue(chunkLength),
                    Placement = ParseKebab<MemoryPlacement>("--placement", parse.GetValue(placement)!),
                    Positions = ParseKebab<MemoryPositions>("--positions", parse.GetValue(positions)!),
                    Lora = new LoraOptions
                    {
                        Rank = parse.GetValue(loraRank), Alpha = parse.GetValue(loraAlpha),
                        TargetModules = Targets(parse.GetValue(loraTargets)!),
                    },
                    DecoderLora = decoderLora,
                },
                MemoryInit = ParseKebab<MemoryInit>("--memory-init", parse.GetValue(memoryInit)!),
                Objective = parse.GetValue(objective) == "qa" ? CompressorObjective.Qa : CompressorObjective.Pretrain,
                LearningRate = parse.GetValue(lr), MemoryLearningRate = parse.GetValue(memoryLr), MinLearningRateRatio = parse.GetValue(minLrRatio),
                DecoderLearningRate = parse.GetValue(decoderLoraLr),
                WarmupSteps = parse.GetValue(warmup), TotalSteps = parse.GetValue(steps), MicroBatchSize = parse.GetValue(batch),
                GradientAccumulation = parse.GetValue(accumulation), MaxGradNorm = parse.GetValue(clip), WeightDecay = parse.GetValue(weightDecay),
                Seed = parse.GetValue(seed), LmShare = parse.GetValue(lmShare), WindowLength = parse.GetValue(window),
                ContinuationLength = parse.GetValue(continuation), CheckpointMinutes = parse.GetValue(checkpointMinutes),
                LogEverySteps = parse.GetValue(logEvery), EvalEverySteps = parse.GetValue(evalEvery), EvalSamples = parse.GetValue(evalSamples),
            };
            var request = new Request(EngineOptions.ModelFolder(parse.GetValue(model)), options, parse.GetValue(corpus)!, parse.GetValue(validation)!,
                parse.GetValue(qa) ?? [], parse.GetValue(devQa), fromDir, parse.GetValue(resume), parse.GetValue(maxMinutes),
                parse.GetValue(stopAtStep), parse.GetValue(tokenCache), parse.GetValue(output)!.FullName, resumeGuard.For(parse),
                dtype.Value(parse), parse.GetValue(peak));
            return Train(request);
        }));
        return command;
    }

    sealed record Request(string Model, CompressorTrainingOptions Options, string Corpus, string Validation, FileInfo[] Qa,
        FileInfo? DevQa, string? From, bool Resume, double? MaxMinutes, int? StopAtStep, string? TokenCache, string RunDir,
        ResumeGuard<CompressorTrainingOptions>.Given GivenTrajectory, ScalarType? Dtype, double? PeakGigaFlops);

    static string[] Targets(string commaSeparated) => commaSeparated.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    // The library's parser refuses an unknown name as a contract error; from the command line it is the user's input.
    internal static MaskPolicy ParsePolicy(string value)
    {
        try { return MaskPolicyNames.Parse(value); }
        catch (ArgumentException e) { throw new InvalidInputException(e.Message); }
    }

    static T ParseKebab<T>(string option, string value) where T : struct, Enum =>
        KebabCase.TryParse(value, out T parsed)
            ? parsed
            : throw new InvalidInputException($"{option}: unknown value '{value}'; use {string.Join(", ", Enum.GetValues<T>().Select(v => KebabCase.Name(v)))}");

    static int Train(Request request)
    {
        if (request.Resume && request.From is not null) throw new InvalidInputException("--resume continues the run's own checkpoint; drop --from");
        PeakFlopsOption.Check(request.PeakGigaFlops);
        using var claim = TrainingCommand.Claim(request.RunDir);
        var options = TrainingCommand.Options(request.RunDir, request.Resume, request.Options, CompressorRun.ReadCheckpointOptions, request.GivenTrajectory,
            $"start a new run from {Path.Combine(request.RunDir, CompressorRun.CheckpointDirName)} with --from");
        if (options.Objective == CompressorObjective.Qa && request.Qa.Length == 0)
            throw new InvalidInputException("--objective qa needs at least one --qa FILE (SQuAD v1.1)");

        var loaded = LoadedModel.Load(request.Model, request.Dtype, "training a compressor");
        using var baseModel = loaded.Model;
        var tokenizer = loaded.Tokenizer;
        var c = options.Compressor;
        Log($"base: {loaded.Describe()}; compressor: {c.Policy.Name()} {KebabCase.Name(c.Kind)} {c.Ratio}x, chunks of {c.ChunkLength}, LoRA r{c.Lora.Rank} on {string.Join(",", c.Lora.TargetModules)}");
        Log(c.DecoderLora is { } decoderLora
            ? $"decoder: {c.DecoderLabel}, alpha {decoderLora.Alpha} on {string.Join(",", decoderLora.TargetModules)}, peak lr {options.DecoderLearningRate ?? options.LearningRate}, trained with the compressor; the base weights stay frozen"
            : $"decoder: {c.DecoderLabel}");
        if (request.From is null && !request.Resume && options.MemoryInit != MemoryInit.Random)
            Log($"memory and task tokens start as {KebabCase.Name(options.MemoryInit)}");
        Directory.CreateDirectory(request.RunDir);
        string tokenizerHash = FileSha256.Hex(Path.Combine(request.Model, ModelFolder.TokenizerFile));
        var encoder = TokenEncoder.ForDocuments(tokenizer, request.Model, tokenizerHash);

        var (source, dataHash) = options.Objective == CompressorObjective.Pretrain
            ? CorpusSource(request, options, encoder, baseModel.Config.MaxPositionEmbeddings)
            : QaSource(request, options, tokenizer, tokenizerHash, baseModel.Config.MaxPositionEmbeddings);
        var probe = Probe(request, options, encoder, tokenizer, baseModel.Config.MaxPositionEmbeddings);

        double peak = PeakFlopsOption.FlopsPerSecond(request.PeakGigaFlops, baseModel.Dtype, Log);
        using var run = new CompressorRun(request.RunDir, baseModel, options, source, probe, dataHash, request.Resume, request.From)
        {
            BaseModelName = Path.GetFullPath(request.Model),
            PeakFlopsPerSecond = peak,
        };
        Log($"{run.Compressor.TrainableParameters().Sum(p => p.numel()):N0} trainable parameters; {options.MicroBatchSize * options.GradientAccumulation} examples per step");
        var final = TrainingCommand.Run(run, options, request.StopAtStep, request.MaxMinutes,
            step => $"loss {step.Loss:F4} acc {step.Accuracy:F3} lr {step.LearningRate:E2} grad {step.GradNorm:F2} {PeakFlopsOption.Describe(step.Flops, step.Seconds, peak)}",
            DescribeProbe);
        Log($"stopped at step {final.Step}/{options.TotalSteps} after {final.TokensSeen:N0} tokens, {TimeSpan.FromSeconds(final.ElapsedSeconds):hh\\:mm\\:ss} " +
            $"({final.TrainSeconds / Math.Max(1, final.Step):F2} s/step in training); compressor in {Path.Combine(request.RunDir, CompressorRun.CheckpointDirName)}");
        return 0;
    }

    static (ICompressorExampleSource Source, string Hash) CorpusSource(Request request, CompressorTrainingOptions options, TokenEncoder encoder, int maxPositions)
    {
        var c = options.Compressor;
        int memory = c.MemoryCount(options.WindowLength);
        int longest = Math.Max(options.WindowLength + memory, memory + 1 + Math.Max(options.WindowLength, options.ContinuationLength));
        if (longest > maxPositions)
            throw new InvalidInputException($"--window {options.WindowLength} needs {longest} positions but the model has {maxPositions}");
        var documents = TokenizedMix.ReadDocuments(request.Corpus);
        Log($"data: {documents.Count:N0} documents from {request.Corpus}; tokenizing (cached)");
        var mix = TokenizedMix.LoadOrBuild(request.TokenCache ?? Path.Combine(request.RunDir, "train-tokens.bin"), documents, [], encoder);
        Log($"data: {mix.CorpusTokens.Length:N0} tokens; windows of {options.WindowLength}, LM share {options.LmShare}, continuation {options.ContinuationLength}");
        return (new CorpusWindows(mix.CorpusTokens, options.WindowLength, options.ContinuationLength, options.LmShare), mix.InputHash);
    }

    static (ICompressorExampleSource Source, string Hash) QaSource(Request request, CompressorTrainingOptions options, TextTokenizer tokenizer, string tokenizerHash, int maxPositions)
    {
        var examples = request.Qa.SelectMany(f => SquadDataset.Load(f.FullName).Examples).ToList();
        var source = QaExamples.Tokenize(examples, tokenizer, options.Compressor.MemoryCount, maxPositions);
        Log($"data: {source.Examples.Count:N0} questions from {string.Join(", ", request.Qa.Select(f => f.Name))}" +
            (source.Skipped > 0 ? $"; {source.Skipped:N0} skipped (no answer or longer than the model's {maxPositions} positions)" : ""));
        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(
            string.Join("\n", request.Qa.Select(f => FileSha256.Hex(f.FullName)).Prepend(tokenizerHash)))));
        return (source, hash);
    }

    static CompressorProbe Probe(Request request, CompressorTrainingOptions options, TokenEncoder encoder, TextTokenizer tokenizer, int maxPositions)
    {
        var dev = request.DevQa is null ? [] : SquadDataset.Load(request.DevQa.FullName).Examples.Where(e => e.Answers.Count > 0).Take(options.EvalSamples).ToList();
        IReadOnlyList<CompressorExample> heldOut;
        if (options.Objective == CompressorObjective.Qa && dev.Count > 0)
            heldOut = QaExamples.Tokenize(dev, tokenizer, options.Compressor.MemoryCount, maxPositions).Examples;
        else if (request.Validation != "none")
        {
            if (!Directory.Exists(request.Validation) && !File.Exists(request.Validation))
                throw new FileNotFoundException($"--validation {request.Validation} not found (give --validation none to probe without held-out windows)");
            var held = TokenizedMix.LoadOrBuild(Path.Combine(request.RunDir, "validation-tokens.bin"), TokenizedMix.ReadDocuments(request.Validation), [], encoder);
            heldOut = CorpusWindows.Spread(held.CorpusTokens, options.WindowLength, options.EvalSamples);
        }
        else heldOut = [];
        Log($"probe every {options.EvalEverySteps} steps: {heldOut.Count} held-out {(options.Objective == CompressorObjective.Qa && dev.Count > 0 ? "questions (answer loss)" : "windows (autoencoding)")}" +
            (dev.Count > 0 ? $", {dev.Count} dev questions answered from memory" : ""));
        if (dev.Count == 0) return new CompressorProbe(heldOut);
        return new CompressorProbe(heldOut, compressor =>
        {
            using var answerer = new MemoryAnswerer(compressor, tokenizer);
            var result = QaEvaluation.Evaluate([answerer], dev, maxPositions - QaGeneration.DefaultMaxNewTokens);
            return (result.Modes[0].ExactMatch, result.Modes[0].F1);
        });
    }

    static string DescribeProbe(MetricsRecord probe) =>
        $"probe at step {probe.Step}: held-out loss {probe.Loss:F4} token accuracy {probe.Value("accuracy"):F3}" +
        (probe.Value("exact_match") is double em ? $", EM {em:F3} F1 {probe.Value("f1"):F3} from memory" : "");

    static void Log(string message) => TrainingProgress.Log(message);
}
