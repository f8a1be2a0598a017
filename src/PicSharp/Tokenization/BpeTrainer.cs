using System.Text;
using System.Text.RegularExpressions;

namespace PicSharp.Tokenization;

public sealed record BpeTrainerOptions
{
    /// <summary>Total ids: 256 byte tokens + learned merges + special tokens.</summary>
    public int VocabSize { get; init; } = 8192;

    /// <summary>Added as special tokens after the learned vocabulary, in this order.</summary>
    public IReadOnlyList<string> SpecialTokens { get; init; } = ["<|bos|>", "<|eos|>", "<|pad|>"];

    /// <summary>Training stops early when the most frequent pair occurs fewer times than this.</summary>
    public int MinFrequency { get; init; } = 2;

    /// <summary>Pre-tokenizing regex; the default is Llama-3's (GPT-4 style: digits in groups of up to three).</summary>
    public string SplitPattern { get; init; } = SplitPatterns.Llama3;
}

/// <summary>
/// Byte-level BPE training (the GPT-2 recipe): texts are split by the pre-tokenizing regex, each distinct piece is a
/// word spelled in its UTF-8 bytes, and the most frequent adjacent pair over all words (weighted by word count) is merged
/// repeatedly. Pair counts are updated incrementally: a merge only revisits the words that contain the merged pair.
/// Ties go to the pair with the smaller (left id, right id), so training is deterministic.
/// </summary>
public static class BpeTrainer
{
    public static TextTokenizer Train(IEnumerable<string> texts, BpeTrainerOptions options)
    {
        int mergeBudget = CheckOptions(options);
        var words = CountWords(texts, new Regex(options.SplitPattern, RegexOptions.Compiled | RegexOptions.CultureInvariant));
        var learner = new MergeLearner(words);
        learner.Learn(mergeBudget, options.MinFrequency);
        return new TextTokenizer(learner.ToModel(options.SpecialTokens, options.SplitPattern), "trained tokenizer");
    }

    static int CheckOptions(BpeTrainerOptions options)
    {
        if (options.SpecialTokens.Any(string.IsNullOrEmpty) || options.SpecialTokens.Distinct().Count() != options.SpecialTokens.Count)
            throw new InvalidInputException("special tokens must be distinct, non-empty strings");
        int merges = options.VocabSize - 256 - options.SpecialTokens.Count;
        if (merges < 0)
            throw new InvalidInputException(
                $"VocabSize {options.VocabSize} is smaller than the 256 byte tokens plus {options.SpecialTokens.Count} special tokens");
        if (options.MinFrequency < 1)
            throw new InvalidInputException("MinFrequency must be at least 1");
        return merges;
    }

    /// <summary>Distinct pre-tokenized pieces of all texts and how often each occurs.</summary>
    static Dictionary<string, long> CountWords(IEnumerable<string> texts, Regex split)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        var lookup = counts.GetAlternateLookup<ReadOnlySpan<char>>();
        foreach (string text in texts)
            foreach (var match in split.EnumerateMatches(text))
            {
                var piece = text.AsSpan(match.Index, match.Length);
                lookup[piece] = lookup.TryGetValue(piece, out long count) ? count + 1 : 1;
            }
        return counts;
    }

    /// <summary>The merge loop over words held as arrays of symbol ids (0-255 are bytes, later ids are merges).</summary>
    sealed class MergeLearner
    {
        readonly int[][] words;
        readonly long[] wordCounts;
        readonly Dictionary<long, long> pairCounts = new();
        // Words that contained the pair at some point; may hold stale or repeated entries, filtered when used.
        readonly Dictionary<long, List<int>> pairWords = new();
        readonly PriorityQueue<long, (long Count, long Pair)> queue = new(Comparer<(long Count, long Pair)>.Create(
            (a, b) => a.Count != b.Count ? b.Count.CompareTo(a.Count) : a.Pair.CompareTo(b.Pair)));
        readonly List<string> symbols = new();
        readonly Dictionary<string, int> symbolOfString = new(StringComparer.Ordinal);
        readonly List<(int Left, int Right)> merges = new();

        public MergeLearner(Dictionary<string, long> wordCounts)
        {
            for (int b = 0; b < 256; b++)
                AddSymbol(ByteLevelAlphabet.CharFor((byte)b).ToString());
            words = new int[wordCounts.Count][];
            this.wordCounts = new long[wordCounts.Count];
            int w = 0;
            // Ordinal order makes word indices, and so everything after, independent of dictionary internals.
            foreach (var (word, count) in wordCounts.OrderBy(entry => entry.Key, StringComparer.Ordinal))
            {
                words[w] = Encoding.UTF8.GetBytes(word).Select(b => (int)b).ToArray();
                this.wordCounts[w] = count;
                AddPairs(w, symbol: -1);
                w++;
            }
            foreach (var (pair, count) in pairCounts)
                queue.Enqueue(pair, (count, pair));
        }

        public void Learn(int mergeBudget, int minFrequency)
        {
            var seenInMerge = new int[words.Length];
            int stamp = 0;
            while (merges.Count < mergeBudget && queue.TryDequeue(out long pair, out var queued))
            {
                long count = pairCounts.GetValueOrDefault(pair);
                if (count != queued.Count)
                {
                    if (count > 0)
                        queue.Enqueue(pair, (count, pair));
                    continue;
                }
                if (count < minFrequency)
                    break;
                int left = (int)(pair >> 32), right = (int)pair;
                int merged = AddSymbol(symbols[left] + symbols[right]);
                merges.Add((left, right));
                stamp++;
                var increased = new HashSet<long>();
                foreach (int w in pairWords[pair])
                {
                    if (seenInMerge[w] == stamp)
                        continue;
                    seenInMerge[w] = stamp;
                    if (ReplacePair(w, left, right, merged))
                        AddPairs(w, merged, increased);
                }
                pairWords.Remove(pair);
                foreach (long changed in increased)
                    queue.Enqueue(changed, (pairCounts[changed], changed));
            }
        }

        public ByteLevelBpeModel ToModel(IReadOnlyList<string> specialTokens, string splitPattern)
        {
            var vocabulary = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int id = 0; id < symbols.Count; id++)
                vocabulary[symbols[id]] = id;
            var added = specialTokens.Select((token, i) => new AddedToken(symbols.Count + i, token, Special: true)).ToList();
            var mergeStrings = merges.Select(m => (symbols[m.Left], symbols[m.Right])).ToList();
            return new ByteLevelBpeModel(vocabulary, mergeStrings, added, splitPattern, NormalizeNfc: false);
        }

        /// <summary>A merge can spell an existing token another way ("a"+"bc" vs "ab"+"c"); both then share its id.</summary>
        int AddSymbol(string text)
        {
            if (symbolOfString.TryGetValue(text, out int id))
                return id;
            symbols.Add(text);
            symbolOfString[text] = symbols.Count - 1;
            return symbols.Count - 1;
        }

        /// <summary>Rewrites word <paramref name="w"/> with (left, right) merged left to right; false if it had no such pair.</summary>
        bool ReplacePair(int w, int left, int right, int merged)
        {
            int[] word = words[w];
            if (!ContainsPair(word, left, right))
                return false;
            for (int i = 0; i + 1 < word.Length; i++)
                AddPairCount(Pack(word[i], word[i + 1]), -wordCounts[w]);
            var result = new List<int>(word.Length);
            for (int i = 0; i < word.Length; i++)
            {
                if (i + 1 < word.Length && word[i] == left && word[i + 1] == right)
                {
                    result.Add(merged);
                    i++;
                }
                else
                    result.Add(word[i]);
            }
            words[w] = result.ToArray();
            return true;
        }

        /// <summary>
        /// Counts word <paramref name="w"/>'s pairs and indexes the word under each pair that contains
        /// <paramref name="symbol"/> (all pairs when it is -1, at start-up); those pairs are collected in <paramref name="increased"/>.
        /// </summary>
        void AddPairs(int w, int symbol, HashSet<long>? increased = null)
        {
            int[] word = words[w];
            for (int i = 0; i + 1 < word.Length; i++)
            {
                long pair = Pack(word[i], word[i + 1]);
                AddPairCount(pair, wordCounts[w]);
                if (symbol >= 0 && word[i] != symbol && word[i + 1] != symbol)
                    continue;
                if (!pairWords.TryGetValue(pair, out var list))
                    pairWords[pair] = list = new List<int>();
                if (list.Count == 0 || list[^1] != w)
                    list.Add(w);
                increased?.Add(pair);
            }
        }

        void AddPairCount(long pair, long delta)
        {
            long count = pairCounts.GetValueOrDefault(pair) + delta;
            if (count == 0)
                pairCounts.Remove(pair);
            else
                pairCounts[pair] = count;
        }

        static bool ContainsPair(int[] word, int left, int right)
        {
            for (int i = 0; i + 1 < word.Length; i++)
                if (word[i] == left && word[i + 1] == right)
                    return true;
            return false;
        }

        static long Pack(int left, int right) => ((long)left << 32) | (uint)right;
    }
}
