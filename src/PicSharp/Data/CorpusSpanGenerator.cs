using System.Text.RegularExpressions;

namespace PicSharp.Data;

/// <summary>
/// Extractive questions over real prose: a passage is a run of whole sentences of one corpus document (a State of
/// the Union address, a Moby-Dick chapter, a dictionary letter, a fortunes file), and a question quotes a few of its
/// words and asks for what follows them (up to the next punctuation mark, or the next N words), for the word just
/// before them, or for how a quoted sentence ends. The quote occurs once in the passage, so the answer is found
/// only by matching the question's words against the passage and copying. Train, dev and test come from the corpus
/// split of the same name, which never shares a document.
/// </summary>
public sealed partial class CorpusSpanGenerator
{
    public int QuestionsPerContext { get; init; } = 1;

    /// <summary>
    /// Repeat drills instead of span questions: each passage is asked once to be repeated word for word, and the
    /// answer is the whole passage. A decoder that cannot copy prose from its context cannot read a compressor's
    /// memory either (an oracle "memory" of the window's own embeddings is the ceiling of any compressor), so the
    /// base model is trained on this copy too.
    /// </summary>
    public bool RepeatWholePassage { get; init; }

    static readonly string[] RepeatQuestions = ["Repeat the passage word for word.", "Copy the text above exactly.",
        "Write the passage out again.", "What does the passage say, word for word?", "Repeat the text."];

    readonly List<string> documents;

    public CorpusSpanGenerator(IEnumerable<string> documents)
    {
        this.documents = documents.Select(d => d.Replace("\r\n", "\n").Trim()).Where(d => d.Length > 0).ToList();
    }

    static readonly string[] FollowQuestions = ["What comes right after \"{A}\" in the passage?", "In the text, what follows the words \"{A}\"?",
        "Which words follow \"{A}\"?", "After \"{A}\", what does the passage say next?", "Continue the phrase from the passage: \"{A}\"",
        "What words come after \"{A}\" in the text?"];
    static readonly string[] NextWordsQuestions = ["What are the next {M} words after \"{A}\"?", "Which {M} words follow \"{A}\" in the passage?",
        "Give the {M} words that come after \"{A}\"."];
    static readonly string[] NextWordQuestions = ["What is the next word after \"{A}\"?", "Which word follows \"{A}\" in the passage?",
        "Give the word that comes after \"{A}\"."];
    static readonly string[] BeforeQuestions = ["Which word comes just before \"{A}\"?", "What word precedes \"{A}\" in the passage?",
        "In the text, which word is right before \"{A}\"?"];
    static readonly string[] EndingQuestions = ["How does the sentence that begins \"{A}\" end?", "Complete the sentence from the passage: \"{A}\"",
        "The passage has a sentence starting \"{A}\". How does it continue?", "What is the rest of the sentence beginning \"{A}\"?"];

    public List<SquadExample> Generate(DataSplit split, int count, int seed, PassageSize size)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), "count must be at least 1");
        if (QuestionsPerContext < 1) throw new InvalidInputException($"questions per context must be at least 1, got {QuestionsPerContext}");
        if (size.ByEntities || size.MinTokens < 1 || size.MaxTokens < size.MinTokens)
            throw new InvalidInputException($"corpus spans need a token range 1 <= min <= max, got {size.MinTokens}..{size.MaxTokens}");
        var usable = documents.Where(d => PassageSize.EstimateTokens(d) >= size.MinTokens).ToList();
        if (usable.Count == 0)
            throw new InvalidInputException($"no corpus document has the {size.MinTokens} estimated tokens a passage needs");
        var sentenceStarts = new Dictionary<int, List<int>>();
        var random = new Random(seed);
        var examples = new List<SquadExample>(count);
        for (int passage = 0, failures = 0; examples.Count < count; passage++)
        {
            int document = random.Next(usable.Count);
            if (!sentenceStarts.TryGetValue(document, out var starts))
                sentenceStarts[document] = starts = SentenceStart().Matches(usable[document]).Select(m => m.Index).Prepend(0).Distinct().ToList();
            if (Passage(usable[document], starts, random, size) is not { } context)
            {
                if (++failures > 1000) throw new InvalidInputException("the corpus gives no passage in the requested length range");
                continue;
            }
            if (RepeatWholePassage)
            {
                examples.Add(new SquadExample($"repeat-{split.QaName()}-{seed}-{passage}", $"repeat {split.QaName()} {passage}",
                    context, FactsGenerator.Pick(random, RepeatQuestions), [new SquadAnswer(context, 0)]));
                continue;
            }
            var words = Words().Matches(context).Select(m => (m.Index, m.Length)).ToList();
            var asked = new HashSet<string>();
            for (int attempt = 0; attempt < 20 * QuestionsPerContext && asked.Count < QuestionsPerContext && examples.Count < count; attempt++)
            {
                if (Question(context, words, random) is not var (question, answer, start) || !asked.Add(question)) continue;
                examples.Add(new SquadExample($"spans-{split.QaName()}-{seed}-{passage}-{asked.Count - 1}", $"spans {split.QaName()} {passage}",
                    context, question, [new SquadAnswer(answer, start)]));
            }
            if (asked.Count == 0 && ++failures > 1000)
                throw new InvalidInputException("the corpus gives no passage a question can be asked about");
        }
        return examples;
    }

    /// <summary>Whole sentences of the document from a random sentence start, until a length drawn from the range;
    /// null when the document ends before the passage reaches the minimum.</summary>
    static string? Passage(string document, List<int> starts, Random random, PassageSize size)
    {
        int target = random.Next(size.MinTokens, size.MaxTokens + 1);
        int first = random.Next(starts.Count), begin = starts[first], end = begin;
        foreach (int next in starts.Skip(first + 1).Append(document.Length))
        {
            int tokens = PassageSize.EstimateTokens(document[begin..next]);
            if (tokens > size.MaxTokens && end > begin) break;
            end = next;
            if (tokens >= target) break;
        }
        string text = document[begin..end].Trim();
        // One very long sentence (a dictionary line) may still overshoot: cut it at the last word that fits.
        for (int tokens; (tokens = PassageSize.EstimateTokens(text)) > size.MaxTokens;)
        {
            int cut = text.LastIndexOf(' ', Math.Max(0, Math.Min(text.Length - 2, (int)((long)text.Length * size.MaxTokens / tokens))));
            if (cut <= 0) return null;
            text = text[..cut].TrimEnd();
        }
        return PassageSize.EstimateTokens(text) >= size.MinTokens ? text : null;
    }

    /// <summary>One question about the passage, or null when the drawn place gives no unambiguous one.</summary>
    static (string Question, string Answer, int Start)? Question(string context, List<(int Index, int Length)> words, Random random)
    {
        if (words.Count < 12) return null;
        int kind = random.Next(4);
        if (kind == 3) return SentenceEnding(context, words, random);
        int at = random.Next(5, words.Count - 6);
        if (kind == 2)
        {
            // The word before a quoted run of three words.
            string quote = Quote(context, words, at, 3);
            string? before = Clean(context.Substring(words[at - 1].Index, words[at - 1].Length));
            if (quote.Length == 0 || before is null || !IsUnique(context, quote)) return null;
            int start = context.IndexOf(before, words[at - 1].Index, StringComparison.Ordinal);
            return (Fill(FactsGenerator.Pick(random, BeforeQuestions), quote), before, start);
        }
        int anchorLength = 3 + random.Next(3);
        string anchor = Quote(context, words, at - anchorLength, anchorLength);
        if (anchor.Length == 0 || !IsUnique(context, anchor)) return null;
        int answerStart = words[at].Index;
        if (!char.IsLetterOrDigit(context[answerStart])) return null;
        if (kind == 0)
        {
            // Up to the next punctuation mark, at most six words.
            for (int w = at; w < Math.Min(at + 6, words.Count); w++)
            {
                string word = context.Substring(words[w].Index, words[w].Length);
                if (!char.IsPunctuation(word[^1])) continue;
                string answer = context[answerStart..(words[w].Index + words[w].Length)].TrimEnd(AnswerEnd);
                if (answer.Contains('\n') || answer.Length == 0) return null;
                return (Fill(FactsGenerator.Pick(random, FollowQuestions), anchor), answer, answerStart);
            }
            return null;
        }
        int count = 1 + random.Next(4);
        string span = context[answerStart..(words[at + count - 1].Index + words[at + count - 1].Length)].TrimEnd(AnswerEnd);
        if (span.Contains('\n') || span.Length == 0) return null;
        string template = count == 1 ? FactsGenerator.Pick(random, NextWordQuestions) : FactsGenerator.Pick(random, NextWordsQuestions);
        return (Fill(template, anchor).Replace("{M}", count.ToString(System.Globalization.CultureInfo.InvariantCulture)), span, answerStart);
    }

    /// <summary>The first four words of a sentence of 7–24 words quoted; the answer is the rest without its final mark.</summary>
    static (string, string, int)? SentenceEnding(string context, List<(int Index, int Length)> words, Random random)
    {
        var starts = SentenceStart().Matches(context).Select(m => m.Index).Prepend(0).ToList();
        int begin = starts[random.Next(starts.Count)];
        int first = words.FindIndex(w => w.Index == begin);
        if (first < 0) return null;
        int last = first;
        while (last < words.Count && !".!?".Contains(context[words[last].Index + words[last].Length - 1])) last++;
        if (last >= words.Count || last - first + 1 is < 7 or > 24) return null;
        string quote = Quote(context, words, first, 4);
        int answerStart = words[first + 4].Index;
        string answer = context[answerStart..(words[last].Index + words[last].Length)].TrimEnd(AnswerEnd);
        if (quote.Length == 0 || !IsUnique(context, quote) || answer.Contains('\n') || !char.IsLetterOrDigit(context[answerStart])) return null;
        return (Fill(FactsGenerator.Pick(random, EndingQuestions), quote), answer, answerStart);
    }

    static readonly char[] Trailing = ['.', ',', ';', ':', '!', '?', '"', '\'', ')', ']', '”', '’', '—', '-'];
    /// <summary>What an answer must not end with: punctuation, or the white space before a dash it ended with.</summary>
    static readonly char[] AnswerEnd = [.. Trailing, ' ', '\t', '\r', '\n'];

    /// <summary>Words [from, from+length) as they stand in the passage; empty when they cross a line break.</summary>
    static string Quote(string context, List<(int Index, int Length)> words, int from, int length)
    {
        if (from < 0 || from + length > words.Count) return "";
        string quote = context[words[from].Index..(words[from + length - 1].Index + words[from + length - 1].Length)];
        return quote.Contains('\n') || quote.Contains('"') ? "" : quote;
    }

    /// <summary>A word without surrounding punctuation, or null when nothing of it is a letter or digit.</summary>
    static string? Clean(string word)
    {
        string cleaned = word.Trim(Trailing).TrimStart('"', '\'', '(', '[', '“', '‘');
        return cleaned.Length > 0 && cleaned.Any(char.IsLetterOrDigit) ? cleaned : null;
    }

    static bool IsUnique(string context, string quote) =>
        context.IndexOf(quote, StringComparison.Ordinal) == context.LastIndexOf(quote, StringComparison.Ordinal);

    static string Fill(string template, string anchor) => template.Replace("{A}", anchor);

    [GeneratedRegex(@"\S+")]
    private static partial Regex Words();

    /// <summary>Where a sentence starts: after . ! ? and white space before a capital letter or a quote, or at the
    /// start of a line (a dictionary entry, a verse).</summary>
    [GeneratedRegex(@"(?<=[.!?][""')\]’”]?\s+)(?=[A-Z""“‘(])|(?<=\n)(?=\S)")]
    private static partial Regex SentenceStart();
}
