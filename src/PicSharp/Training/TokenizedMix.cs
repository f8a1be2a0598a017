using PicSharp.Data;
using PicSharp.Storage;
using PicSharp.Tokenization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace PicSharp.Training;

/// <summary>How text becomes token ids for training: the tokenizer's encoder plus its end-of-sequence id.</summary>
/// <param name="Fingerprint">identifies the tokenizer (e.g. a hash of tokenizer.json) so caches from another one are not reused.</param>
public sealed record TokenEncoder(Func<string, IReadOnlyList<int>> Encode, int EosTokenId, string Fingerprint)
{
    /// <summary>
    /// The training rule for documents: each starts with the tokenizer's BOS (when it has one) and ends with its EOS.
    /// <paramref name="tokenizerHash"/> identifies the tokenizer file; the BOS rule is part of the fingerprint.
    /// </summary>
    public static TokenEncoder ForDocuments(TextTokenizer tokenizer, string tokenizerSource, string tokenizerHash)
    {
        int eos = tokenizer.EosTokenId ?? throw new TrainingException($"{tokenizerSource}: the tokenizer has no EOS token");
        return new TokenEncoder(text => tokenizer.EncodeWithBos(text), eos, tokenizerHash + (tokenizer.BosTokenId is null ? "" : "+bos"));
    }
}

/// <summary>
/// The training mix as token ids: corpus documents concatenated into one stream, each followed by EOS, and QA
/// examples kept as separate whole sequences (each ending in EOS). Built once, then cached as a binary file whose
/// header carries a hash of every input, so a changed corpus, QA set or tokenizer rebuilds it.
/// </summary>
public sealed class TokenizedMix
{
    const string Magic = "PICMIX01";

    public int[] CorpusTokens { get; }
    readonly int[] qaTokens;
    readonly long[] qaOffsets; // QaCount + 1 entries into qaTokens

    public string InputHash { get; }
    public int QaCount => qaOffsets.Length - 1;
    public long QaTokenCount => qaTokens.LongLength;

    public TokenizedMix(int[] corpusTokens, int[] qaTokens, long[] qaOffsets, string inputHash)
    {
        if (qaOffsets.Length == 0 || qaOffsets[0] != 0 || qaOffsets[^1] != qaTokens.LongLength)
            throw new TrainingException("QA offsets do not cover the QA token array");
        CorpusTokens = corpusTokens;
        this.qaTokens = qaTokens;
        this.qaOffsets = qaOffsets;
        InputHash = inputHash;
    }

    public ReadOnlySpan<int> QaExample(int index) =>
        qaTokens.AsSpan((int)qaOffsets[index], (int)(qaOffsets[index + 1] - qaOffsets[index]));

    /// <summary>Hash of the tokenizer fingerprint and every document and QA text, in order.</summary>
    public static string HashInputs(IReadOnlyList<string> documents, IReadOnlyList<string> qaTexts, string tokenizerFingerprint)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Add(string s)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(s);
            hash.AppendData(BitConverter.GetBytes(bytes.LongLength));
            hash.AppendData(bytes);
        }
        Add(Magic);
        Add(tokenizerFingerprint);
        hash.AppendData(BitConverter.GetBytes((long)documents.Count));
        foreach (string d in documents) Add(d);
        hash.AppendData(BitConverter.GetBytes((long)qaTexts.Count));
        foreach (string q in qaTexts) Add(q);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>The non-empty documents of a corpus folder or .jsonl; none at all is an error naming the path.</summary>
    public static List<string> ReadDocuments(string path)
    {
        var documents = TextCorpus.Read(path).Where(text => text.Length > 0).ToList();
        return documents.Count > 0 ? documents : throw new TrainingException($"{path}: no documents");
    }

    /// <summary>Tokenizes every text (documents in parallel, order kept) and appends EOS after each.</summary>
    public static TokenizedMix Build(IReadOnlyList<string> documents, IReadOnlyList<string> qaTexts, TokenEncoder encoder)
    {
        int[][] EncodeAll(IReadOnlyList<string> texts) =>
            texts.AsParallel().AsOrdered().WithDegreeOfParallelism(Math.Max(1, Environment.ProcessorCount))
                .Select(t => encoder.Encode(t).Append(encoder.EosTokenId).ToArray()).ToArray();

        int[][] docs = EncodeAll(documents), qa = EncodeAll(qaTexts);
        var offsets = new long[qa.Length + 1];
        for (int i = 0; i < qa.Length; i++) offsets[i + 1] = offsets[i] + qa[i].Length;
        return new TokenizedMix(docs.SelectMany(d => d).ToArray(), qa.SelectMany(q => q).ToArray(), offsets,
            HashInputs(documents, qaTexts, encoder.Fingerprint));
    }

    /// <summary>Reads the cache at <paramref name="cachePath"/> if it was built from the same inputs, else builds and writes it.</summary>
    public static TokenizedMix LoadOrBuild(string cachePath, IReadOnlyList<string> documents, IReadOnlyList<string> qaTexts, TokenEncoder encoder)
    {
        string hash = HashInputs(documents, qaTexts, encoder.Fingerprint);
        if (File.Exists(cachePath) && ReadHash(cachePath) == hash) return Load(cachePath);
        var mix = Build(documents, qaTexts, encoder);
        mix.Save(cachePath);
        return mix;
    }

    // Layout (little-endian): magic, hash (string), corpus count, qa example count, qa token count,
    // corpus int32[], qa offsets int64[], qa int32[].
    public void Save(string path)
    {
        AtomicFile.Write(path, stream =>
        {
            using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
            writer.Write(Encoding.ASCII.GetBytes(Magic));
            writer.Write(InputHash);
            writer.Write(CorpusTokens.LongLength);
            writer.Write((long)QaCount);
            writer.Write(qaTokens.LongLength);
            writer.Write(MemoryMarshal.AsBytes(CorpusTokens.AsSpan()));
            writer.Write(MemoryMarshal.AsBytes(qaOffsets.AsSpan()));
            writer.Write(MemoryMarshal.AsBytes(qaTokens.AsSpan()));
        });
    }

    public static TokenizedMix Load(string path)
    {
        using var reader = new BinaryReader(File.OpenRead(path), Encoding.UTF8);
        string hash = ReadHeader(reader, path);
        long corpusCount = reader.ReadInt64(), qaCount = reader.ReadInt64(), qaTokenCount = reader.ReadInt64();
        long expected = reader.BaseStream.Position + 4 * corpusCount + 8 * (qaCount + 1) + 4 * qaTokenCount;
        if (corpusCount < 0 || qaCount < 0 || qaTokenCount < 0 || expected != reader.BaseStream.Length)
            throw new TrainingException($"{path}: token cache is truncated or corrupt (expected {expected} bytes, found {reader.BaseStream.Length})");
        var corpus = new int[corpusCount];
        var offsets = new long[qaCount + 1];
        var qa = new int[qaTokenCount];
        reader.BaseStream.ReadExactly(MemoryMarshal.AsBytes(corpus.AsSpan()));
        reader.BaseStream.ReadExactly(MemoryMarshal.AsBytes(offsets.AsSpan()));
        reader.BaseStream.ReadExactly(MemoryMarshal.AsBytes(qa.AsSpan()));
        try { return new TokenizedMix(corpus, qa, offsets, hash); }
        catch (TrainingException e) { throw new TrainingException($"{path}: {e.Message}"); }
    }

    static string? ReadHash(string path)
    {
        try
        {
            using var reader = new BinaryReader(File.OpenRead(path), Encoding.UTF8);
            return ReadHeader(reader, path);
        }
        catch (Exception e) when (e is TrainingException or EndOfStreamException or IOException) { return null; }
    }

    static string ReadHeader(BinaryReader reader, string path)
    {
        byte[] magic = reader.ReadBytes(Magic.Length);
        if (Encoding.ASCII.GetString(magic) != Magic)
            throw new TrainingException($"{path}: not a PicSharp token cache (bad magic)");
        return reader.ReadString();
    }
}
