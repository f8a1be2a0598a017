using System.CommandLine;
using PicSharp.Compression;
using PicSharp.Data;
using PicSharp.Storage;
using PicSharp.Modeling;
using PicSharp.Tokenization;
using PicSharp.Training;
using static TorchSharp.torch;

namespace PicSharp.Cli.Commands;

/// <summary>`pic pretrain-lm`: next-token training of a base LM on corpus text mixed with QA-formatted text.</summary>
public static class PretrainCommands
{
    public static Command Create()
    {
        var config = new Option<FileInfo?>("--config") { Description = "config.json of a new, randomly initialised model" };
        var model = new Option<DirectoryInfo?>("--model") { Description = "model folder to continue training from" };
        var tokenizer = new Option<FileInfo>("--tokenizer") { Description = "tokenizer.json (copied into the output model)", Required = true };
        var corpus = new Option<string>("--corpus") { Description = "training text: a folder of .txt (one document each) or a .jsonl with a 'text' field", Required = true };
        var validation = new Option<string?>("--validation") { Description = "held-out text (same formats) for validation loss" };
        var qa = new Option<FileInfo[]>("--qa") { Description = "SQuAD v1.1 JSON rendered as prompt + answer + EOS (repeatable)", AllowMultipleArgumentsPerToken = false };
        var output = new Option<DirectoryInfo>("--out") { Description = "run folder: checkpoint/, model/, metrics.jsonl, loss.png", Required = true };
        var steps = new Option<int>("--steps") { Description = "optimizer steps", DefaultValueFactory = _ => 1000 };
        var batch = new Option<int>("--batch") { Description = "sequences per micro-batch", DefaultValueFactory = _ => 8 };
        var seqLen = new Option<int>("--seq-len") { Description = "tokens per sequence", DefaultValueFactory = _ => 512 };
        var accum = new Option<int>("--accum") { Description = "micro-batches per optimizer step", DefaultValueFactory = _ => 1 };
        var lr = new Option<double>("--lr") { Description = "peak learning rate", DefaultValueFactory = _ => 1e-3 };
        var minLrRatio = new Option<double>("--min-lr-ratio") { Description = "final learning rate as a fraction of the peak", DefaultValueFactory = _ => 0.1 };
        var warmup = new Option<int>("--warmup") { Description = "linear warmup steps", DefaultValueFactory = _ => 100 };
        var weightDecay = new Option<double>("--weight-decay") { DefaultValueFactory = _ => 0.1 };
        var maxGradNorm = new Option<double>("--max-grad-norm") { DefaultValueFactory = _ => 1.0 };
        var dtype = new DtypeOption("--dtype", "compute (default bfloat16: forward and backward in bfloat16 over float32 master weights)",
            [ScalarType.Float32, ScalarType.BFloat16], ScalarType.BFloat16);
        var seed = new Option<long>("--seed") { Description = "seeds initialisation and data order", DefaultValueFactory = _ => 1234 };
        var qaShare = new Option<double>("--qa-share") { Description = "fraction of sequences made of QA examples", DefaultValueFactory = _ => 0.5 };
        var checkpointMinutes = new Option<double>("--checkpoint-minutes") { DefaultValueFactory = _ => 10 };
        var logEvery = new Option<int>("--log-every") { Description = "steps between log lines", DefaultValueFactory = _ => 10 };
        var evalEvery = new Option<int>("--eval-every") { Description = "steps between validation runs", DefaultValueFactory = _ => 200 };
        var evalSequences = new Option<int>("--eval-sequences") { Description = "held-out sequences per validation run", DefaultValueFactory = _ => 16 };
        var resume = new Option<bool>("--resume") { Description = "continue RUN_DIR/checkpoint exactly (training options come from the checkpoint)" };
        var maxMinutes = new Option<double?>("--max-minutes") { Description = "stop cleanly with a checkpoint after this long" };
        var stopAtStep = new Option<int?>("--stop-at-step") { Description = "stop cleanly with a checkpoint at this step (the schedule still spans --steps)" };
        var exportDtype = new DtypeOption("--export-dtype", "RUN_DIR/model's weights (default: float32)",
            [ScalarType.Float32, ScalarType.BFloat16, ScalarType.Float16], ScalarType.Float32);
        var memoryWeight = new Option<double>("--memory-weight") { Description = "weight of memory episodes in each step's loss (0: plain LM training): the model compresses passages with learned memory tokens and reads the memory back, all weights training", DefaultValueFactory = _ => 0 };
        var memoryQa = new Option<FileInfo[]>("--memory-qa") { Description = "SQuAD v1.1 JSON whose passages and questions become answering episodes (repeatable)", AllowMultipleArgumentsPerToken = false };
        var memoryQaDev = new Option<FileInfo?>("--memory-qa-dev") { Description = "SQuAD v1.1 JSON of held-out questions for the memory probe at each validation" };
        var memoryRatios = new Option<string>("--memory-ratios") { Description = "compression ratios of the episodes, comma-separated", DefaultValueFactory = _ => "4,16,64" };
        var memoryCurriculum = new Option<int>("--memory-curriculum") { Description = "steps over which the ratios open from the lowest to all", DefaultValueFactory = _ => 1200 };
        var memoryBatch = new Option<int>("--memory-batch") { Description = "memory episodes per micro-batch", DefaultValueFactory = _ => 8 };
        var memoryPassageShare = new Option<double>("--memory-passage-share") { Description = "share of the episodes that do not answer which reconstruct a QA passage instead of a corpus window", DefaultValueFactory = _ => 0 };
        var memoryPositions = new Option<MemoryPositions>("--memory-positions") { Description = "position ids of memory tokens: sequential (after their chunk) or uniform (spread over it)", DefaultValueFactory = _ => MemoryPositions.Sequential };
        var memoryPooledShare = new Option<double>("--memory-pooled-share") { Description = "share of micro-steps whose memory is each slot's mean token embedding instead of the model's compression (teaches reading before writing)", DefaultValueFactory = _ => 0 };
        var memoryGlobalShare = new Option<double>("--memory-global-share") { Description = "share of micro-steps compressed under the global mask (the rest: pic)", DefaultValueFactory = _ => 0.5 };
        var memoryKvShare = new Option<double>("--memory-kv-share") { Description = "share of micro-steps whose memory is per-layer keys and values (the rest: embeddings)", DefaultValueFactory = _ => 0.25 };
        var memoryQaShare = new Option<double>("--memory-qa-share") { Description = "share of episodes that answer a question about their passage", DefaultValueFactory = _ => 0.4 };
        var threads = TorchThreads.Option();
        var peak = PeakFlopsOption.Create();
        var resumeGuard = new ResumeGuard<TrainingOptions>(
        [
            (steps, o => o.TotalSteps), (batch, o => o.MicroBatchSize), (seqLen, o => o.SequenceLength), (accum, o => o.GradientAccumulation),
            (lr, o => o.LearningRate), (minLrRatio, o => o.MinLearningRateRatio), (warmup, o => o.WarmupSteps),
            (weightDecay, o => o.WeightDecay), (maxGradNorm, o => o.MaxGradNorm), (dtype.Option, o => o.Dtype), (seed, o => o.Seed),
            (qaShare, o => o.QaShare), (evalEvery, o => o.EvalEverySteps), (evalSequences, o => o.EvalSequences),
            (memoryWeight, o => o.MemoryEpisodes?.Weight ?? 0), (memoryRatios, o => string.Join(",", o.MemoryEpisodes?.Ratios ?? [4, 16, 64])),
            (memoryCurriculum, o => o.MemoryEpisodes?.CurriculumSteps ?? 1200), (memoryBatch, o => o.MemoryEpisodes?.EpisodesPerMicroBatch ?? 8),
            (memoryPositions, o => o.MemoryEpisodes?.Positions ?? MemoryPositions.Sequential),
            (memoryPassageShare, o => o.MemoryEpisodes?.PassageShare ?? 0),
            (memoryPooledShare, o => o.MemoryEpisodes?.PooledShare ?? 0), (memoryGlobalShare, o => o.MemoryEpisodes?.GlobalShare ?? 0.5),
            (memoryKvShare, o => o.MemoryEpisodes?.KeyValuesShare ?? 0.25), (memoryQaShare, o => o.MemoryEpisodes?.QaShare ?? 0.4),
        ]);

        var command = new Command("pretrain-lm", "Train a causal LM on corpus text mixed with QA text (AdamW, warmup + cosine, checkpoints, exact resume)")
        {
            config, model, tokenizer, corpus, validation, qa, output, steps, batch, seqLen, accum, lr, minLrRatio, warmup,
            weightDecay, maxGradNorm, dtype.Option, seed, qaShare, checkpointMinutes, logEvery, evalEvery, evalSequences, resume,
            maxMinutes, stopAtStep, exportDtype.Option, memoryWeight, memoryQa, memoryQaDev, memoryRatios, memoryCurriculum, memoryBatch,
            memoryPassageShare, memoryPositions, memoryPooledShare, memoryGlobalShare, memoryKvShare, memoryQaShare, threads, peak,
        };
        command.SetAction(parse => CommandErrors.Run("pic pretrain-lm", () =>
        {
            TorchThreads.Set(parse.GetValue(threads));
            var options = new TrainingOptions
            {
                LearningRate = parse.GetValue(lr), MinLearningRateRatio = parse.GetValue(minLrRatio), WarmupSteps = parse.GetValue(warmup),
                TotalSteps = parse.GetValue(steps), MicroBatchSize = parse.GetValue(batch), SequenceLength = parse.GetValue(seqLen),
                GradientAccumulation = parse.GetValue(accum), MaxGradNorm = parse.GetValue(maxGradNorm), WeightDecay = parse.GetValue(weightDecay),
                Seed = parse.GetValue(seed), Dtype = ModelFolder.TorchDtypeName(dtype.Value(parse)!.Value), QaShare = parse.GetValue(qaShare),
                CheckpointMinutes = parse.GetValue(checkpointMinutes), LogEverySteps = parse.GetValue(logEvery),
                EvalEverySteps = parse.GetValue(evalEvery), EvalSequences = parse.GetValue(evalSequences),
                MemoryEpisodes = parse.GetValue(memoryWeight) == 0 ? null : new MemoryEpisodeOptions
                {
                    Weight = parse.GetValue(memoryWeight), Ratios = ParseRatios(parse.GetValue(memoryRatios)!),
                    CurriculumSteps = parse.GetValue(memoryCurriculum), EpisodesPerMicroBatch = parse.GetValue(memoryBatch),
                    Positions = parse.GetValue(memoryPositions), PassageShare = parse.GetValue(memoryPassageShare),
                    PooledShare = parse.GetValue(memoryPooledShare), GlobalShare = parse.GetValue(memoryGlobalShare),
                    KeyValuesShare = parse.GetValue(memoryKvShare), QaShare = parse.GetValue(memoryQaShare),
                },
            };
            var request = new PretrainRequest(parse.GetValue(config), parse.GetValue(model), parse.GetValue(tokenizer)!,
                parse.GetValue(corpus)!, parse.GetValue(validation), parse.GetValue(qa) ?? [], parse.GetValue(output)!.FullName,
                options, parse.GetValue(resume), parse.GetValue(maxMinutes), parse.GetValue(stopAtStep), exportDtype.Value(parse)!.Value,
                resumeGuard.For(parse), parse.GetValue(peak), parse.GetValue(memoryQa) ?? [], parse.GetValue(memoryQaDev));
            return Pretrain(request);
        }));
        return command;
    }

    sealed record PretrainRequest(FileInfo? Config, DirectoryInfo? Model, FileInfo Tokenizer, string Corpus, string? Validation,
        FileInfo[] Qa, string RunDir, TrainingOptions Options, bool Resume, double? MaxMinutes, int? StopAtStep, ScalarType ExportDtype,
        ResumeGuard<TrainingOptions>.Given GivenTrajectory, double? PeakGigaFlops, FileInfo[] MemoryQa, FileInfo? MemoryQaDev);

    static int[] ParseRatios(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        return parts.Length > 0 && parts.All(p => int.TryParse(p, out int r) && r >= 1)
            ? parts.Select(int.Parse).ToArray()
            : throw new TrainingException($"--memory-ratios must be positive integers separated by commas, got '{text}'");
    }

    static int Pretrain(PretrainRequest request)
    {
        PeakFlopsOption.Check(request.PeakGigaFlops);
        using var claim = TrainingCommand.Claim(request.RunDir);
        var options = TrainingCommand.Options(request.RunDir, request.Resume, request.Options, PretrainRun.ReadCheckpointOptions, request.GivenTrajectory,
            $"start a new run from {Path.Combine(request.RunDir, PretrainRun.CheckpointDirName)} with --model");

        var tokenizer = TextTokenizer.Load(request.Tokenizer.FullName);
        var encoder = TokenEncoder.ForDocuments(tokenizer, request.Tokenizer.FullName, FileSha256.Hex(request.Tokenizer.FullName));

        using var model = CreateModel(request, tokenizer.VocabSize);
        if (options.SequenceLength > model.Config.MaxPositionEmbeddings)
            throw new TrainingException($"--seq-len {options.SequenceLength} is longer than the model reads (max_position_embeddings {model.Config.MaxPositionEmbeddings})");
        Log($"model: {model.parameters().Sum(p => p.numel()):N0} parameters; {options.TokensPerStep:N0} tokens per step, {options.Dtype}");

        var documents = TokenizedMix.ReadDocuments(request.Corpus);
        var qaTexts = request.Qa.SelectMany(f => QaPrompt.TrainingTexts(SquadDataset.Load(f.FullName).Examples)).ToList();
        Log($"data: {documents.Count:N0} documents, {qaTexts.Count:N0} QA contexts; tokenizing (cached in the run folder)");
        Directory.CreateDirectory(request.RunDir);
        var mix = TokenizedMix.LoadOrBuild(Path.Combine(request.RunDir, "train-tokens.bin"), documents, qaTexts, encoder);
        var sampler = new BatchSampler(mix, options.SequenceLength, options.QaShare, options.Seed, tokenizer.PadTokenId ?? encoder.EosTokenId);
        Log($"data: {mix.CorpusTokens.Length:N0} corpus tokens, {mix.QaTokenCount:N0} QA tokens" +
            (sampler.SkippedQaExamples > 0 ? $"; {sampler.SkippedQaExamples:N0} QA examples longer than a sequence are skipped" : ""));

        IReadOnlyList<MicroBatch> validation = [];
        int[] heldTokens = [];
        if (request.Validation is not null)
        {
            var held = TokenizedMix.LoadOrBuild(Path.Combine(request.RunDir, "validation-tokens.bin"), TokenizedMix.ReadDocuments(request.Validation), [], encoder);
            heldTokens = held.CorpusTokens;
            validation = BatchSampler.Consecutive(held.CorpusTokens, options.SequenceLength, options.EvalSequences, options.MicroBatchSize);
            Log($"validation: {validation.Sum(b => b.BatchSize)} sequences of {options.SequenceLength} tokens");
        }

        var episodes = MemoryEpisodeData.Load(options, request.MemoryQa.Select(f => f.FullName).ToList(), request.MemoryQaDev?.FullName, tokenizer, model.Config.MaxPositionEmbeddings, mix, heldTokens);
        if (options.MemoryEpisodes is { } memory)
            Log($"memory episodes: weight {memory.Weight}, ratios {string.Join("/", memory.Ratios)} over {memory.CurriculumSteps} steps, " +
                $"{episodes.Qa.Count:N0} QA episodes, probe of {episodes.ProbeWindows.Count} windows and {episodes.ProbeQuestions.Count} questions");

        double peak = PeakFlopsOption.FlopsPerSecond(request.PeakGigaFlops, options.UseBf16 ? ScalarType.BFloat16 : ScalarType.Float32, Log);
        using var run = new PretrainRun(request.RunDir, model, options, sampler, validation, episodes.DataHash, request.Resume,
            compute => new MemoryEpisodes(compute, options.MemoryEpisodes!, options.Seed, mix.CorpusTokens, episodes.Qa))
        {
            TokenizerPath = request.Tokenizer.FullName,
            PeakFlopsPerSecond = peak,
            MemoryProbe = (episodes.ProbeWindows, episodes.ProbeQuestions),
        };
        // A model folder written by a run with memory episodes may carry their tokens (a snapshot continued on another
        // machine): a new run from it keeps them rather than drawing new ones.
        if (!request.Resume && request.Model is not null && run.Episodes is { } started
            && File.Exists(Path.Combine(request.Model.FullName, MemoryEpisodes.FileName)))
        {
            started.Load(request.Model.FullName);
            Log($"memory episode tokens from {Path.Combine(request.Model.FullName, MemoryEpisodes.FileName)}");
        }
        var final = TrainingCommand.Run(run, options, request.StopAtStep, request.MaxMinutes,
            step => $"loss {step.Loss:F4} " + (step.Values is { } v ? $"memory {v["memory_loss"]:F4}/{v["memory_acc"]:F3} " : "") +
                $"lr {step.LearningRate:E2} grad {step.GradNorm:F2} {PeakFlopsOption.Describe(run.FlopsPerStep, step.Seconds, peak)}",
            e => $"step {e.Step} validation loss {e.Loss:F4} perplexity {Math.Exp(e.Loss):F2}" +
                (e.Values is { Count: > 0 } m ? "; memory " + string.Join(" ", m.Select(p => $"{p.Key} {p.Value:F3}")) : ""));

        string modelDir = Path.Combine(request.RunDir, "model");
        AtomicFolder.Write(modelDir, dir =>
        {
            ModelFolder.Save(run.Model, dir, request.ExportDtype);
            ModelFolder.CopyTokenizer(request.Tokenizer.FullName, dir);
        });
        if (run.Episodes is { } trained)
        {
            string compressorsDir = Path.Combine(request.RunDir, "memory-compressors");
            AtomicFolder.Write(compressorsDir, dir => trained.ExportCompressors(dir, modelDir));
            Log($"the model's own memory arrangements (no adapter) as compressor folders in {compressorsDir}");
        }
        Log($"stopped at step {final.Step}/{options.TotalSteps} after {final.TokensSeen:N0} tokens, {TimeSpan.FromSeconds(final.ElapsedSeconds):hh\\:mm\\:ss}; " +
            $"model in {modelDir}, checkpoint in {Path.Combine(request.RunDir, PretrainRun.CheckpointDirName)}");
        return 0;
    }

    static LlamaForCausalLM CreateModel(PretrainRequest request, int tokenizerVocab)
    {
        LlamaForCausalLM model;
        if (request.Resume)
            model = new LlamaForCausalLM(PretrainRun.ReadCheckpointConfig(request.RunDir)); // weights come from the checkpoint
        else if (request.Model is not null && request.Config is null)
            model = ModelFolder.Load(request.Model.FullName, ScalarType.Float32);
        else if (request.Config is not null && request.Model is null)
        {
            model = new LlamaForCausalLM(LlamaConfig.Load(request.Config.FullName));
            model.InitializeWeights(request.Options.Seed);
        }
        else throw new TrainingException("give exactly one of --config (new model) or --model (existing folder), or --resume");
        if (tokenizerVocab > model.Config.VocabSize)
            throw new TrainingException($"the tokenizer has {tokenizerVocab} tokens but the model's vocab_size is {model.Config.VocabSize}");
        return model;
    }

    static void Log(string message) => TrainingProgress.Log(message);
}
