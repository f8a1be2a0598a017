using PicSharp.Answering;
using PicSharp.Compression;
using static TorchSharp.torch;

namespace PicSharp.Tests.Compression;

public class MemoryDecoderTests
{
    static int[] Tokens(int length, int seed) => new Random(seed).GetItems(Enumerable.Range(3, 58).ToArray(), length);

    [Theory]
    [InlineData(MemoryKind.Embeddings)]
    [InlineData(MemoryKind.KeyValues)]
    public void One_memory_shared_by_several_examples_scores_as_the_copied_memory_does(MemoryKind kind)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var compressor = new Compressor(TinyModels.Create(TinyModels.Config()), new CompressorOptions { Ratio = 4, ChunkLength = 8, Kind = kind }, seed: 2);
        var decoder = new MemoryDecoder(compressor);
        var memory = compressor.Compress([Tokens(20, 1), Tokens(9, 2)]);
        DecoderExample[] questions = [new(TaskToken.Answer, [5, 6], [7, 8]), new(TaskToken.Answer, [9], [10, 11, 12]), new(TaskToken.Autoencode, [], Tokens(9, 2))];
        int[] rows = [0, 0, 1];

        var shared = decoder.Loss(memory, questions, rows);
        // The same batch with each example's memory row copied out: rows 0, 0, 1 as a memory of batch 3.
        var perExample = rows.Select(memory.Row).ToList();
        var copied = new CompressedMemory(kind,
            kind == MemoryKind.Embeddings ? cat(perExample.Select(m => PadEmbeddings(m.Embeddings!, 5)).ToList(), 0) : null,
            kind == MemoryKind.KeyValues
                ? Enumerable.Range(0, perExample[0].KeyValues!.Count).Select(l => (
                    cat(perExample.Select(m => PadHeads(m.KeyValues![l].Keys, 5)).ToList(), 0),
                    cat(perExample.Select(m => PadHeads(m.KeyValues![l].Values, 5)).ToList(), 0))).ToList()
                : null,
            rows.Select(r => memory.Counts[r]).ToList(), rows.Select(r => memory.NextPositions[r]).ToList(), rows.Select(r => memory.ContextLengths[r]).ToList());
        var reference = decoder.Loss(copied, questions);

        Assert.Equal(reference.Mean.item<float>(), shared.Mean.item<float>(), 5);
        Assert.Equal(reference.Correct, shared.Correct);
        Assert.Equal(2 + 3 + 9, shared.Tokens);
        Assert.InRange(shared.Accuracy, 0, 1);
        var broadcast = decoder.Loss(memory, questions.Take(2).ToList(), [1, 1]);
        var alone = decoder.Loss(memory.Row(1), [questions[0], questions[1]], [0, 0]);
        Assert.Equal(alone.Mean.item<float>(), broadcast.Mean.item<float>(), 5);
        Assert.Contains("memory row 2", Assert.Throws<ArgumentException>(() => decoder.Loss(memory, questions, [0, 1, 2])).Message);
        Assert.Contains("3 memory rows for 2", Assert.Throws<ArgumentException>(() => decoder.Loss(memory, questions.Take(2).ToList(), rows)).Message);
    }

    [Theory]
    [InlineData(MemoryKind.Embeddings)]
    [InlineData(MemoryKind.KeyValues)]
    public void Questions_answered_together_get_the_answers_they_get_one_at_a_time(MemoryKind kind)
    {
        using var scope = NewDisposeScope();
        var compressor = new Compressor(TinyModels.Create(TinyModels.Config()), new CompressorOptions { Ratio = 4, ChunkLength = 8, Kind = kind }, seed: 2);
        var decoder = new MemoryDecoder(compressor);
        var memory = compressor.Compress([Tokens(20, 1), Tokens(9, 2)]); // memories of 5 and 3 tokens
        var other = compressor.Compress([Tokens(13, 3)]);
        // Two questions on row 0, one on row 1, one on another memory; prompts of different lengths.
        var options = new PicSharp.Modeling.GenerationOptions { MaxNewTokens = 5 };
        AnswerRequest Question(CompressedMemory read, int row, IReadOnlyList<int> prompt) => new(prompt, options.MaxNewTokens) { Memory = read, MemoryRow = row };
        AnswerRequest[] questions = [Question(memory, 0, [5, 6]), Question(memory, 0, Tokens(7, 4)), Question(memory, 1, [9]), Question(other, 0, Tokens(4, 5))];

        var together = decoder.GenerateBatch(questions, TaskToken.Answer, options);
        for (int i = 0; i < questions.Length; i++)
        {
            using var row = questions[i].Memory!.Row(questions[i].MemoryRow);
            Assert.Equal(decoder.Generate(row, TaskToken.Answer, questions[i].Prompt, options).Tokens, together[i].Tokens);
        }
        Assert.Contains("memory row 2", Assert.Throws<ArgumentException>(() => decoder.GenerateBatch([Question(memory, 2, [5])], TaskToken.Answer, options)).Message);
    }

    // Pads row memories to a common count (the padding is masked or never read, as in a compressed batch).
    static Tensor PadEmbeddings(Tensor embeddings, int count) => nn.functional.pad(embeddings, [0, 0, 0, count - embeddings.shape[1]]);
    static Tensor PadHeads(Tensor keys, int count) => nn.functional.pad(keys, [0, 0, 0, count - keys.shape[2]]);
}
