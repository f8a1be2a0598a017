using System.Security.Cryptography;
using System.Text;
using PicSharp.Compression;
using PicSharp.CompressorTraining;
using PicSharp.Data;
using PicSharp.Storage;
using PicSharp.Tokenization;

namespace PicSharp.Training;

/// <summary>
/// What a pretraining run's memory episodes read besides the corpus: answering episodes from QA files, and the memory
/// probe's held-out windows and questions. <paramref name="DataHash"/> covers the token mix and these files, so a
/// resumed run refuses changed data.
/// </summary>
public sealed record MemoryEpisodeData(IReadOnlyList<CompressorExample> Qa, IReadOnlyList<int[]> ProbeWindows,
    IReadOnlyList<CompressorExample> ProbeQuestions, string DataHash)
{
    /// <summary>Held-out windows (of this many tokens) and questions the probe reads: enough to see a trend, cheap
    /// enough to run at every validation.</summary>
    public const int ProbeWindowLength = 128, ProbeWindowCount = 16, ProbeQuestionCount = 64;

    /// <param name="heldOutTokens">the validation token stream (empty: no reconstruction probe).</param>
    public static MemoryEpisodeData Load(TrainingOptions options, IReadOnlyList<string> qaFiles, string? probeQaFile,
        TextTokenizer tokenizer, int maxPositions, TokenizedMix mix, int[] heldOutTokens)
    {
        if (options.MemoryEpisodes is not { } memory)
        {
            if (qaFiles.Count > 0 || probeQaFile is not null)
                throw new TrainingException("memory QA files were given but memory episodes are off (their weight is 0)");
            return new MemoryEpisodeData([], [], [], mix.InputHash);
        }
        int lowest = memory.Ratios.Min();
        int MemoryCount(int length) => new MemoryLayout(length, lowest, memory.ChunkLength).MemoryCount;
        IReadOnlyList<CompressorExample> Read(IEnumerable<string> files) => files.Any()
            ? QaExamples.Tokenize(files.SelectMany(f => SquadDataset.Load(f).Examples), tokenizer, MemoryCount, maxPositions).Examples
            : [];

        var qa = Read(qaFiles);
        var questions = Read(probeQaFile is null ? [] : [probeQaFile]).Where(e => e.Context.Count <= memory.MaxQaContext).Take(ProbeQuestionCount).ToList();
        var windows = heldOutTokens.Length >= ProbeWindowLength ? CorpusWindows.SpreadWindows(heldOutTokens, ProbeWindowLength, ProbeWindowCount) : [];

        var hash = new StringBuilder(mix.InputHash);
        foreach (string file in qaFiles) hash.Append(" qa ").Append(FileSha256.Hex(file));
        if (probeQaFile is not null) hash.Append(" probe ").Append(FileSha256.Hex(probeQaFile));
        return new MemoryEpisodeData(qa, windows, questions, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(hash.ToString()))));
    }
}
