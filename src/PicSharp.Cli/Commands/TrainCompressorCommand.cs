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

    /// <summary>Every setting of <see cref="CompressorTrainingOptions"/> the command takes, declared once.</summary>
    internal static SettingList<CompressorTrainingOptions> Settings()
    {
        var settings = new SettingList<CompressorTrainingOptions>(Defaults);
        settings.AddKebab("--objective", "pretrain (corpus windows: autoencoding + LM) or qa (SQuAD files)", o => o.Objective, (o, v) => o with { Objective = v });
        settings.Add("--policy", "global | pic | pic-causal-text | pic-recurrent", null, o => o.Compressor.Policy.Name(), (o, v) => Shape(o, c => c with { Policy = ParsePolicy(v) }));
        settings.AddKebab("--kind", "embeddings | key-values", o => o.Compressor.Kind, (o, v) => Shape(o, c => c with { Kind = v }));
        settings.Add("--ratio", "context tokens per memory token", o => o.Compressor.Ratio, (o, v) => Shape(o, c => c with { Ratio = v }));
        settings.Add("--chunk-length", "tokens per chunk (a multiple of the ratio)", o => o.Compressor.ChunkLength, (o, v) => Shape(o, c => c with { ChunkLength = v }));
        settings.AddKebab("--placement", "interleaved | appended", o => o.Compressor.Placement, (o, v) => Shape(o, c => c with { Placement = v }));
        settings.AddKebab("--positions", "sequential | uniform", o => o.Compressor.Positions, (o, v) => Shape(o, c => c with { Positions = v }));
        settings.Add("--lora-rank", null, o => o.Compressor.Lora.Rank, (o, v) => Shape(o, c => c with { Lora = c.Lora with { Rank = v } }));
        settings.Add("--lora-alpha", null, o => o.Compressor.Lora.Alpha, (o, v) => Shape(o, c => c with { Lora = c.Lora with { Alpha = v } }));
        settings.Add("--lora-targets", "comma-separated projections", null, o => string.Join(',', o.Compressor.Lora.TargetModules),
            (o, v) => Shape(o, c => c with { Lora = c.Lora with { TargetModules = Targets(v) } }));
        settings.AddKebab("--memory-init", "start of new memory and task tokens: random (normal at the vocabulary's spread) | vocab-mean (the vocabulary's mean embedding + small noise)",
            o => o.MemoryInit, (o, v) => o with { MemoryInit = v });
        settings.Add("--lr", "peak learning rate of the LoRA matrices", o => o.LearningRate, (o, v) => o with { LearningRate = v });
        settings.Add("--memory-lr", "peak learning rate of the memory and task tokens", o => o.MemoryLearningRate, (o, v) => o with { MemoryLearningRate = v });
        settings.Add("--min-lr-ratio", "final learning rate as a fraction of the peak", o => o.MinLearningRateRatio, (o, v) => o with { MinLearningRateRatio = v });
        settings.Add("--warmup", "linear warmup steps", o => o.WarmupSteps, (o, v) => o with { WarmupSteps = v });
        settings.Add("--steps", "optimizer steps", o => o.TotalSteps, (o, v) => o with { TotalSteps = v });
        settings.Add("--batch", "examples per micro-batch", o => o.MicroBatchSize, (o, v) => o with { MicroBatchSize = v });
        settings.Add("--accumulation", "micro-batches per optimizer step", o => o.GradientAccumulation, (o, v) => o with { GradientAccumulation = v });
        settings.Add("--clip", "gradient norm limit", o => o.MaxGradNorm, (o, v) => o with { MaxGradNorm = v });
        settings.Add("--weight-decay", "AdamW decay of the LoRA matrices", o => o.WeightDecay, (o, v) => o with { WeightDecay = v });
        settings.Add("--seed", "seeds initialisation and data order", o => o.Seed, (o, v) => o with { Seed = v });
        settings.Add("--lm-share", "pretrain: share of windows continued (LM) rather than reconstructed (AE)", o => o.LmShare, (o, v) => o with { LmShare = v });
        settings.Add("--window", "pretrain: context tokens per window", o => o.WindowLength, (o, v) => o with { WindowLength = v });
        settings.Add("--continuation", "pretrain: tokens to continue after the window", o => o.ContinuationLength, (o, v) => o with { ContinuationLength = v });
        settings.Add("--eval-every", "steps between dev probes", o => o.EvalEverySteps, (o, v) => o with { EvalEverySteps = v });
        settings.Add("--eval-samples", "held-out windows / dev questions per probe", o => o.EvalSamples, (o, v) => o with { EvalSamples = v });
        settings.Add("--checkpoint-minutes", null, o => o.CheckpointMinutes, (o, v) => o with { CheckpointMinutes = v });
        settings.Add("--log-every", "steps between log lines", o => o.LogEverySteps, (o, v) => o with { LogEverySteps = v });
        return settings;
    }

    /// <summary>The settings --from takes from the folder instead.</summary>
    static readonly string[] ShapeFlags = ["--policy", "--kind", "--ratio", "--chunk-length", "--placement", "--positions", "--lora-rank", "--lora-alpha",
        "--lora-targets", "--memory-init"];

    public static Command Create()
    {
        var model = EngineOptions.ModelOption("frozen base model folder (config.json, model.safetensors, tokenizer.json)");
        var settings = Settings();
        var corpus = new Option<string>("--corpus") { Description = "pretrain text: a folder of .txt or a .jsonl with 'text'", DefaultValueFactory = _ => "data/corpus/train" };
        var validation = new Option<string>("--validation") { Description = "held-out text for the autoencoding probe, or none", DefaultValueFactory = _ => "data/corpus/validation" };
        var qa = new Option<FileInfo[]>("--qa") { Description = "qa: SQuAD v1.1 training file (repeatable)" };
        var devQa = new Option<FileInfo?>("--dev-qa") { Description = "SQuAD v1.1 file whose first --eval-samples questions are answered from memory at each probe" };
        var from = new Option<string?>("--from") { Description = "start from this compressor folder (its options are kept)" };
        var resume = new Option<bool>("--resume") { Description = "continue OUT/checkpoint exactly (training options come from the checkpoint)" };
        var maxMinutes = new Option<double?>("--max-minutes") { Description = "stop cleanly with a checkpoint after this long" };
        var stopAtStep = new Option<int?>("--stop-at-step") { Description = "stop cleanly with a checkpoint at this step (the schedule still spans --steps)" };
        var tokenCache = new Option<string?>("--token-cache") { Description = "tokenized corpus cache (default OUT/train-tokens.bin; share one between runs)" };
        var threads = CpuThreads.Option();
        var dtype = DtypeOption.ForModel(null);
        var peak = PeakFlopsOption.Create();
        var output = new Option<DirectoryInfo>("--out") { Description = "run folder: checkpoint/ (a compressor folder), metrics.jsonl, loss.png", Required = true };

        Option[] shape = [.. ShapeFlags.Select(settings.Flag)];
        var command = new Command("train-compressor", "Train a compressor (LoRA + memory tokens) against the frozen base model: autoencoding/LM pretraining or QA") { model };
        foreach (var option in (Option[])[.. settings.Options, corpus, validation, qa, devQa, from, resume, maxMinutes, stopAtStep, tokenCache, threads, dtype.Option, peak, output])
            command.Options.Add(option);
        command.SetAction(parse => CommandErrors.Run(Name, () =>
        {
            CpuThreads.Set(parse.GetValue(threads));
            string? fromDir = parse.GetValue(from);
            var explicitShape = shape.Where(o => parse.GetResult(o) is { Implicit: false }).Select(o => o.Name).ToList();
            if (fromDir is not null && explicitShape.Count > 0)
                throw new InvalidInputException($"--from keeps the options of {fromDir}; drop {string.Join(", ", explicitShape)}");
            var options = settings.Read(parse);
            if (fromDir is not null) options = options with { Compressor = CompressorFolder.ReadOptions(fromDir) };
            var request = new Request(EngineOptions.ModelFolder(parse.GetValue(model)), options, parse.GetValue(corpus)!, parse.GetValue(validation)!,
                parse.GetValue(qa) ?? [], parse.GetValue(devQa), fromDir, parse.GetValue(resume), parse.GetValue(maxMinutes),
                parse.GetValue(stopAtStep), parse.GetValue(tokenCache), parse.GetValue(output)!.FullName, settings.Given(parse),
                dtype.Value(parse), parse.GetValue(peak));
            return Train(request);
        }));
        return command;
    }

    static CompressorTrainingOptions Shape(CompressorTrainingOptions options, Func<CompressorOptions, CompressorOptions> change) =>
        options with { Compressor = change(options.Compressor) };

    sealed record Request(string Model, CompressorTrainingOptions Options, string Corpus, string Validation, FileInfo[] Qa,
        FileInfo? DevQa, string? From, bool Resume, double? MaxMinutes, int? StopAtStep, string? TokenCache, string RunDir,
        GivenSettings<CompressorTrainingOptions> Given, ScalarType? Dtype, double? PeakGigaFlops);

    static string[] Targets(string commaSeparated) => commaSeparated.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    // The library's parser refuses an unknown name as a contract error; from the command line it is the user's input.
    internal static MaskPolicy ParsePolicy(string value)
    {
        try { return MaskPolicyNames.Parse(value); }
        catch (ArgumentException e) { throw new InvalidInputException(e.Message); }
    }

    static int Train(Request request)
    {
        if (request.Resume && request.From is not null) throw new InvalidInputException("--resume continues the run's own checkpoint; drop --from");
        PeakFlopsOption.Check(request.PeakGigaFlops);
        using var claim = TrainingCommand.Claim(request.RunDir);
        var options = TrainingCommand.Options(request.RunDir, request.Resume, request.Options, request.Given, CompressorRun.ReadCheckpointOptions,
            $"start a new run from {Path.Combine(request.RunDir, CompressorRun.CheckpointDirName)} with --from");
        if (options.Objective == CompressorObjective.Qa && request.Qa.Length == 0)
            throw new InvalidInputException("--objective qa needs at least one --qa FILE (SQuAD v1.1)");

        var loaded = LoadedModel.Load(request.Model, request.Dtype, "training a compressor");
        using var baseModel = loaded.Model;
        var tokenizer = loaded.Tokenizer;
        var c = options.Compressor;
        Log($"base: {loaded.Describe()}; compressor: {c.Policy.Name()} {KebabCase.Name(c.Kind)} {c.Ratio}x, chunks of {c.ChunkLength}, LoRA r{c.Lora.Rank} on {string.Join(",", c.Lora.TargetModules)}");
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
