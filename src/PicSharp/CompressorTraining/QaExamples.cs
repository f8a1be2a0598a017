using PicSharp.Compression;
using PicSharp.Data;
using PicSharp.Evaluation;
using PicSharp.Tokenization;
using PicSharp.Training;

namespace PicSharp.CompressorTraining;

/// <summary>
/// The QA examples: the passage is the context; the decoder reads `[memory][&lt;qa&gt;]` + the question in the prompt
/// format eval-lm and the memory answerer use, and learns the first gold answer followed by EOS.
/// </summary>
public sealed class QaExamples : ICompressorExampleSource
{
    public IReadOnlyList<CompressorExample> Examples { get; }
    /// <summary>Examples left out: no answer, an empty passage, or more positions than the model has.</summary>
    public int Skipped { get; }

    public QaExamples(IReadOnlyList<CompressorExample> examples, int skipped)
    {
        if (examples.Count == 0) throw new TrainingException($"no usable QA examples ({skipped} skipped: no answer, empty passage or too long for the model)");
        Examples = examples;
        Skipped = skipped;
    }

    public CompressorExample Draw(CounterRandom random) => Examples[(int)random.NextLong(Examples.Count)];

    /// <summary>
    /// Tokenizes SQuAD examples, keeping those whose compressor input (passage + its memory tokens) and decoder input
    /// (memory, task token, question, answer) fit in <paramref name="maxPositions"/>.
    /// </summary>
    public static QaExamples Tokenize(IEnumerable<SquadExample> examples, TextTokenizer tokenizer, Func<int, int> memoryCount, int maxPositions)
    {
        int eos = tokenizer.EosTokenId ?? throw new TrainingException("the tokenizer has no EOS token to end answers with");
        var kept = new List<CompressorExample>();
        int skipped = 0;
        var contextIds = new Dictionary<string, IReadOnlyList<int>>(); // passages are asked several questions
        foreach (var example in examples)
        {
            if (example.Answers.Count == 0 || example.Context.Length == 0) { skipped++; continue; }
            if (!contextIds.TryGetValue(example.Context, out var context))
                contextIds[example.Context] = context = MemoryAnswerer.ContextIds(tokenizer, example.Context);
            var prompt = MemoryAnswerer.PromptIds(tokenizer, example.Question);
            var target = tokenizer.EncodeText(QaPrompt.Target(example.Answers[0].Text)).Append(eos).ToArray();
            int memory = context.Count == 0 ? 0 : memoryCount(context.Count);
            if (context.Count == 0 || context.Count + memory > maxPositions || memory + 1 + prompt.Count + target.Length > maxPositions) { skipped++; continue; }
            kept.Add(new CompressorExample(context, new DecoderExample(TaskToken.Answer, prompt, target)));
        }
        return new QaExamples(kept, skipped);
    }
}
