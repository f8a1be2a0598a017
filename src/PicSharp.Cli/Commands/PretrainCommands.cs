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
    static readonly TrainingOptions Defaults = new();
    static readonly MemoryEpisodeOptions EpisodeDefaults = new();
    static readonly ScalarType[] ComputeDtypes = [ScalarType.Float32, ScalarType.BFloat16];

    /// <summary>Every setting of <see cref="TrainingOptions"/> the command takes, declared once.</summary>
    internal static SettingList<TrainingOptions> Settings()
    {
        var settings = new SettingList<TrainingOptions>(Defaults);
        settings.Add("--steps", "optimizer steps", o => o.TotalSteps, (o, v) => o with { TotalSteps = v });
        settings.Add("--batch", "sequences per micro-batch", o => o.MicroBatchSize, (o, v) => o with { MicroBatchSize = v });
        settings.Add("--seq-len", "tokens per sequence", o => o.SequenceLength, (o, v) => o with { SequenceLength = v });
        settings.Add("--accum", "micro-batches per optimizer step", o => o.GradientAccumulation, (o, v) => o with { GradientAccumulation = v });
        settings.Add("--lr", "peak learning rate", o => o.LearningRate, (o, v) => o with { LearningRate = v });
        settings.Add("--min-lr-ratio", "final learning rate as a fraction of the peak", o => o.MinLearningRateRatio, (o, v) => o with { MinLearningRateRatio = v });
        settings.Add("--warmup", "linear warmup steps", o => o.WarmupSteps, (o, v) => o with { WarmupSteps = v });
        settings.Add("--weight-decay", null, o => o.WeightDecay, (o, v) => o with { WeightDecay = v });
        settings.Add("--max-grad-norm", null, o => o.MaxGradNorm, (o, v) => o with { MaxGradNorm = v });
        settings.Add("--dtype", $"{DtypeOption.Names(ComputeDtypes)}: compute (default bfloat16: forward and backward in bfloat16 over float32 master weights)",
            nameof(TrainingOptions.Dtype), o => o.Dtype, (o, v) => o with { Dtype = DtypeOption.Name("--dtype", v, ComputeDtypes) });
        settings.Add("--seed", "seeds initialisation and data order", o => o.Seed, (o, v) => o with { Seed = v });
        settings.Add("--qa-share", "fraction of sequences made of QA examples", o => o.QaShare, (o, v) => o with { QaShare = v });
        settings.Add("--checkpoint-minutes", null, o => o.CheckpointMinutes, (o, v) => o with { CheckpointMinutes = v });
        settings.Add("--log-every", "steps between log lines", o => o.LogEverySteps, (o, v) => o with { LogEverySteps = v });
        settings.Add("--eval-every", "steps between validation runs", o => o.EvalEverySteps, (o, v) => o with { EvalEverySteps = v });
        settings.Add("--eval-sequences", "held-out sequences per validation run", o => o.EvalSequences, (o, v) => o with { EvalSequences = v });
        // Weight 0 is no memory episodes (MemoryEpisodes null); the memory settings that follow shape the episodes a weight made.
        settings.Add("--memory-weight", "weight of memory episodes in each step's loss (0: plain LM training): the model compresses passages with learned memory tokens and reads the memory back, all weights training",
            EpisodeField(nameof(MemoryEpisodeOptions.Weight)), o => o.MemoryEpisodes?.Weight ?? 0,
            (o, v) => o with { MemoryEpisodes = v == 0 ? null : EpisodeDefaults with { Weight = v } });
        AddEpisodeSetting(settings, "--memory-ratios", "compression ratios of the episodes, comma-separated", nameof(MemoryEpisodeOptions.Ratios),
            m => string.Join(",", m.Ratios), (m, v) => m with { Ratios = ParseRatios(v) });
        AddEpisodeSetting(settings, "--memory-curriculum", "steps over which the ratios open from the lowest to all", nameof(MemoryEpisodeOptions.CurriculumSteps),
            m => m.CurriculumSteps, (m, v) => m with { CurriculumSteps = v });
        AddEpisodeSetting(settings, "--memory-batch", "memory episodes per micro-batch", nameof(MemoryEpisodeOptions.EpisodesPerMicroBatch),
            m => m.EpisodesPerMicroBatch, (m, v) => m with { EpisodesPerMicroBatch = v });
        AddEpisodeSetting(settings, "--memory-passage-share", "share of the episodes that do not answer which reconstruct a QA passage instead of a corpus window",
            nameof(MemoryEpisodeOptions.PassageShare), m => m.PassageShare, (m, v) => m with { PassageShare = v });
        AddEpisodeSetting(settings, "--memory-positions", "position ids of memory tokens: sequential (after their chunk) or uniform (spread over it)",
            nameof(MemoryEpisodeOptions.Positions), m => KebabCase.Name(m.Positions), (m, v) => m with { Positions = KebabCase.Parse<MemoryPositions>("--memory-positions", v) })
            .HelpName = KebabCase.Names<MemoryPositions>("|");
        AddEpisodeSetting(settings, "--memory-pooled-share", "share of micro-steps whose memory is each slot's mean token embedding instead of the model's compression (teaches reading before writing)",
            nameof(MemoryEpisodeOptions.PooledShare), m => m.PooledShare, (m, v) => m with { PooledShare = v });
        AddEpisodeSetting(settings, "--memory-global-share", "share of micro-steps compressed under the global mask (the rest: pic)",
            nameof(MemoryEpisodeOptions.GlobalShare), m => m.GlobalShare, (m, v) => m with { GlobalShare = v });
        AddEpisodeSetting(settings, "--memory-kv-share", "share of micro-steps whose memory is per-layer keys and values (the rest: embeddings)",
            nameof(MemoryEpisodeOptions.KeyValuesShare), m => m.KeyValuesShare, (m, v) => m with { KeyValuesShare = v });
        AddEpisodeSetting(settings, "--memory-qa-share", "share of episodes that answer a question about their passage",
            nameof(MemoryEpisodeOptions.QaShare), m => m.QaShare, (m, v) => m with { QaShare = v });
        AddEpisodeSetting(settings, "--memory-encoder-lora-rank", "0: the model itself compresses; r > 0: each arrangement compresses through its own LoRA adapter of rank r (writing need not share every weight with reading)",
            nameof(MemoryEpisodeOptions.EncoderLoraRank), m => m.EncoderLoraRank, (m, v) => m with { EncoderLoraRank = v });
        // Absent is the model's rate, which a resume compares as the rate it stands for.
        settings.Add<double?>("--memory-lr", "peak learning rate of the episodes' memory and task tokens and encoder adapters (default: --lr)",
            EpisodeField(nameof(MemoryEpisodeOptions.LearningRate)), o => o.MemoryEpisodes?.LearningRate ?? o.LearningRate,
            (o, v) => WithEpisodes(o, m => m with { LearningRate = v }));
        return settings;
    }

    public static Command Create()
    {
        var config = new Option<FileInfo?>("--config") { Description = "config.json of a new, randomly initialised model" };
        var model = new Option<DirectoryInfo?>("--model") { Description = "model folder to continue training from" };
        var tokenizer = new Option<FileInfo>("--tokenizer") { Description = "tokenizer.json (copied into the output model)", Required = true };
        var corpus = new Option<string>("--corpus") { Description = "training text: a folder of .txt (one document each) or a .jsonl with a 'text' field", Required = true };
        var validation = new Option<string?>("--validation") { Description = "held-out text (same formats) for validation loss" };
        var qa = new Option<FileInfo[]>("--qa") { Description = "SQuAD v1.1 JSON rendered as prompt + answer + EOS (repeatable)", AllowMultipleArgumentsPerToken = false };
        var output = new Option<DirectoryInfo>("--out") { Description = "run folder: checkpoint/, model/, metrics.jsonl, loss.png", Required = true };

        var settings = Settings();
        var resume = new Option<bool>("--resume") { Description = "continue RUN_DIR/checkpoint exactly (training options come from the checkpoint)" };
        var maxMinutes = new Option<double?>("--max-minutes") { Description = "stop cleanly with a checkpoint after this long" };
        var stopAtStep = new Option<int?>("--stop-at-step") { Description = "stop cleanly with a checkpoint at this step (the schedule still spans --steps)" };
        var exportDtype = new DtypeOption("--export-dtype", "RUN_DIR/model's weights (default: float32)",
            [ScalarType.Float32, ScalarType.BFloat16, ScalarType.Float16], ScalarType.Float32);
        var memoryQa = new Option<FileInfo[]>("--memory-qa") { Description = "SQuAD v1.1 JSON whose passages and questions become answering episodes (repeatable)", AllowMultipleArgumentsPerToken = false };
        var memoryQaDev = new Option<FileInfo?>("--memory-qa-dev") { Description = "SQuAD v1.1 JSON of held-out questions for the memory probe at each validation" };
        var threads = CpuThreads.Option();
        var peak = PeakFlopsOption.Create();

        var command = new Command("pretrain-lm", "Train a causal LM on corpus text mixed with QA text (AdamW, warmup + cosine, checkpoints, exact resume)");
        foreach (var option in (Option[])[config, model, tokenizer, corpus, validation, qa, output, .. settings.Options, resume, maxMinutes, stopAtStep,
            exportDtype.Option, memoryQa, memoryQaDev, threads, peak])
            command.Options.Add(option);
        command.SetAction(parse => CommandErrors.Run("pic pretrain-lm", () =>
        {
            CpuThreads.Set(parse.GetValue(threads));
            var request = new PretrainRequest(parse.GetValue(config), parse.GetValue(model), parse.GetValue(tokenizer)!,
                parse.GetValue(corpus)!, parse.GetValue(validation), parse.GetValue(qa) ?? [], parse.GetValue(output)!.FullName,
                settings.Read(parse), parse.GetValue(resume), parse.GetValue(maxMinutes), parse.GetValue(stopAtStep), exportDtype.Value(parse)!.Value,
                settings.Given(parse), parse.GetValue(peak), parse.GetValue(memoryQa) ?? [], parse.GetValue(memoryQaDev));
            return Pretrain(request);
        }));
        return command;
    }

    static string EpisodeField(string name) => $"{nameof(TrainingOptions.MemoryEpisodes)}.{name}";

    // With episodes off (--memory-weight 0) a memory setting reads the episodes' defaults and writes nothing.
    static Option<T> AddEpisodeSetting<T>(SettingList<TrainingOptions> settings, string flag, string description, string field,
        Func<MemoryEpisodeOptions, T> read, Func<MemoryEpisodeOptions, T, MemoryEpisodeOptions> write) =>
        settings.Add(flag, description, EpisodeField(field), o => read(o.MemoryEpisodes ?? EpisodeDefaults), (o, v) => WithEpisodes(o, m => write(m, v)));

    static TrainingOptions WithEpisodes(TrainingOptions options, Func<MemoryEpisodeOptions, MemoryEpisodeOptions> change) =>
        options.MemoryEpisodes is null ? options : options with { MemoryEpisodes = change(options.MemoryEpisodes) };

    sealed record PretrainRequest(FileInfo? Config, DirectoryInfo? Model, FileInfo Tokenizer, string Corpus, string? Validation,
        FileInfo[] Qa, string RunDir, TrainingOptions Options, bool Resume, double? MaxMinutes, int? StopAtStep, ScalarType ExportDtype,
        GivenSettings<TrainingOptions> Given, double? PeakGigaFlops, FileInfo[] MemoryQa, FileInfo? MemoryQaDev);

    static int[] ParseRatios(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        return parts.Length > 0 && parts.All(p => int.TryParse(p, out int r) && r >= 1)
            ? parts.Select(int.Parse).ToArray()
            : throw new InvalidInputException($"--memory-ratios must be positive integers separated by commas, got '{text}'");
    }

    static int Pretrain(PretrainRequest request)
    {
        PeakFlopsOption.Check(request.PeakGigaFlops);
        using var claim = TrainingCommand.Claim(request.RunDir);
        var options = TrainingCommand.Options(request.RunDir, request.Resume, request.Options, request.Given, PretrainRun.ReadCheckpointOptions,
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
            var restored = started.Load(request.Model.FullName, start: true);
            Log($"memory episode tokens of {restored.Count} arrangement(s) from {Path.Combine(request.Model.FullName, MemoryEpisodes.FileName)}; the others start fresh");
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
            Log($"the model's own memory arrangements (with their encoder adapters, if any) as compressor folders in {compressorsDir}");
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
