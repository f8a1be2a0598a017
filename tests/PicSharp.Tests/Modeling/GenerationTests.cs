using PicSharp.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace PicSharp.Tests.Modeling;

public class GenerationTests
{
    [Fact]
    public void Greedy_generation_with_cache_equals_argmax_of_full_forward_each_step()
    {
        using var scope = NewDisposeScope();
        var model = TinyModels.Create(TinyModels.Config());
        var prompt = TinyModels.RandomTokens(61, 1, 5);
        var result = TextGeneration.Generate(model, model.Embed(prompt), new GenerationOptions { MaxNewTokens = 6 });

        var sequence = prompt[0].data<long>().ToList();
        foreach (int produced in result.Tokens)
        {
            var logits = model.Logits(model.ForwardTokens(tensor(sequence.ToArray()).unsqueeze(0)));
            Assert.Equal(logits[0, -1].argmax().item<long>(), produced);
            sequence.Add(produced);
        }
        Assert.Equal(6, result.Tokens.Count);
        Assert.Equal(StopReason.MaxNewTokens, result.Reason);
    }

    [Fact]
    public void Stops_on_stop_token_and_on_stop_string()
    {
        using var scope = NewDisposeScope();
        var model = TinyModels.Create(TinyModels.Config());
        var prompt = model.Embed(TinyModels.RandomTokens(61, 1, 5));
        var free = TextGeneration.Generate(model, prompt, new GenerationOptions { MaxNewTokens = 4 });

        var byToken = TextGeneration.Generate(model, prompt, new GenerationOptions { MaxNewTokens = 4, StopTokenIds = [free.Tokens[2]] });
        Assert.Equal(StopReason.StopToken, byToken.Reason);
        Assert.Equal(free.Tokens.Take(free.Tokens.ToList().IndexOf(free.Tokens[2])), byToken.Tokens);

        string Decode(IReadOnlyList<int> ids) => string.Join(" ", ids.Select(i => $"t{i}"));
        var byString = TextGeneration.Generate(model, prompt,
            new GenerationOptions { MaxNewTokens = 4, StopStrings = [$"t{free.Tokens[1]}"] }, decode: Decode);
        Assert.Equal(StopReason.StopString, byString.Reason);
        Assert.True(byString.Tokens.Count <= 2);
    }

    [Fact]
    public void Greedy_generation_after_a_kv_prefix_equals_argmax_of_full_forward_each_step()
    {
        using var scope = NewDisposeScope();
        var model = TinyModels.Create(TinyModels.Config());
        var tokens = TinyModels.RandomTokens(61, 1, 9);
        using var prefix = new KvCache(model.Config.NumHiddenLayers);
        model.ForwardTokens(tokens[.., ..5], cache: prefix);
        var result = TextGeneration.Generate(model, model.Embed(tokens[.., 5..]), new GenerationOptions { MaxNewTokens = 5 }, prefix);

        Assert.Equal(5, prefix.Length); // the caller's cache is read, not extended
        var sequence = tokens[0].data<long>().ToList();
        foreach (int produced in result.Tokens)
        {
            var logits = model.Logits(model.ForwardTokens(tensor(sequence.ToArray()).unsqueeze(0)));
            Assert.Equal(logits[0, -1].argmax().item<long>(), produced);
            sequence.Add(produced);
        }
    }

    [Fact]
    public void Each_row_of_a_batch_gets_the_tokens_it_gets_alone()
    {
        using var scope = NewDisposeScope();
        var model = TinyModels.Create(TinyModels.Config());
        // Rows of different prompt lengths, two of them after K/V prefixes of different lengths and start positions.
        var prompts = new List<GenerationPrompt>();
        int[] promptLengths = [3, 7, 1, 5];
        int[] prefixLengths = [0, 4, 0, 2];
        for (int b = 0; b < promptLengths.Length; b++)
        {
            var ids = TinyModels.RandomTokens(61, 1, prefixLengths[b] + promptLengths[b], seed: 10 + b);
            if (prefixLengths[b] == 0) { prompts.Add(new GenerationPrompt(model.Embed(ids)[0])); continue; }
            using var cache = new KvCache(model.Config.NumHiddenLayers);
            model.ForwardTokens(ids[.., ..prefixLengths[b]], cache: cache);
            var prefix = Enumerable.Range(0, cache.Layers).Select(l => (cache.Keys(l).clone(), cache.Values(l).clone())).ToList();
            prompts.Add(new GenerationPrompt(model.Embed(ids[.., prefixLengths[b]..])[0], prefix, prefixLengths[b]));
        }
        var options = new GenerationOptions { MaxNewTokens = 6 };
        var streamed = prompts.Select(_ => new List<int>()).ToArray();
        var batch = TextGeneration.GenerateBatch(model, prompts, options, onToken: (row, token) => streamed[row].Add(token));

        for (int b = 0; b < prompts.Count; b++)
        {
            var alone = TextGeneration.GenerateBatch(model, [prompts[b]], options)[0];
            Assert.Equal(alone.Tokens, batch[b].Tokens);
            Assert.Equal(batch[b].Tokens, streamed[b]);
        }
    }

    [Fact]
    public void Rows_of_a_batch_stop_on_their_own()
    {
        using var scope = NewDisposeScope();
        var model = TinyModels.Create(TinyModels.Config());
        var prompts = Enumerable.Range(0, 3).Select(b => new GenerationPrompt(model.Embed(TinyModels.RandomTokens(61, 1, 4 + b, seed: 20 + b))[0])).ToList();
        var free = TextGeneration.GenerateBatch(model, prompts, new GenerationOptions { MaxNewTokens = 5 });
        int stop = free[1].Tokens[1];
        var stopped = TextGeneration.GenerateBatch(model, prompts, new GenerationOptions { MaxNewTokens = 5, StopTokenIds = [stop] });
        for (int b = 0; b < prompts.Count; b++)
        {
            int at = free[b].Tokens.ToList().IndexOf(stop);
            Assert.Equal(at < 0 ? free[b].Tokens : free[b].Tokens.Take(at), stopped[b].Tokens);
            Assert.Equal(at < 0 ? StopReason.MaxNewTokens : StopReason.StopToken, stopped[b].Reason);
        }
        Assert.Equal(StopReason.StopToken, stopped[1].Reason);
    }

    [Fact]
    public void Rows_keep_their_own_answer_length_and_a_cancelled_row_stops_alone()
    {
        using var scope = NewDisposeScope();
        var model = TinyModels.Create(TinyModels.Config());
        var embeddings = Enumerable.Range(0, 3).Select(b => model.Embed(TinyModels.RandomTokens(61, 1, 4 + b, seed: 30 + b))[0]).ToList();
        var free = TextGeneration.GenerateBatch(model, embeddings.Select(e => new GenerationPrompt(e)).ToList(), new GenerationOptions { MaxNewTokens = 6 });
        using var leave = new CancellationTokenSource();
        var limited = TextGeneration.GenerateBatch(model,
            [new GenerationPrompt(embeddings[0]) { MaxNewTokens = 2 }, new GenerationPrompt(embeddings[1]) { Cancel = leave.Token }, new GenerationPrompt(embeddings[2])],
            new GenerationOptions { MaxNewTokens = 6 }, onToken: (row, _) => { if (row == 1) leave.Cancel(); });
        Assert.Equal(free[0].Tokens.Take(2), limited[0].Tokens);
        Assert.Equal(StopReason.MaxNewTokens, limited[0].Reason);
        Assert.Equal(free[1].Tokens.Take(1), limited[1].Tokens);
        Assert.Equal(StopReason.Cancelled, limited[1].Reason);
        Assert.Equal(free[2].Tokens, limited[2].Tokens);
        Assert.Throws<ArgumentException>(() => TextGeneration.GenerateBatch(model, [new GenerationPrompt(embeddings[0]) { MaxNewTokens = 0 }], new GenerationOptions()));
    }

    [Fact]
    public void Sampling_is_reproducible_by_seed_and_top_p_near_zero_is_greedy()
    {
        var logits = tensor(new float[] { 0.1f, 2.0f, 1.9f, -1f, 0.5f });
        var sample = new GenerationOptions { Temperature = 1.0, TopP = 0.9 };
        int[] Draw(ulong seed) { var g = new Generator(seed); return Enumerable.Range(0, 30).Select(_ => TextGeneration.Choose(logits, sample, g)).ToArray(); }
        Assert.Equal(Draw(4), Draw(4));
        Assert.True(Draw(4).Distinct().Count() > 1);
        Assert.DoesNotContain(3, Draw(9)); // the least likely token lies outside the 0.9 nucleus
        var g = new Generator(1);
        Assert.All(Enumerable.Range(0, 20), _ => Assert.Equal(1, TextGeneration.Choose(logits, sample with { TopP = 1e-6 }, g)));
    }
}
