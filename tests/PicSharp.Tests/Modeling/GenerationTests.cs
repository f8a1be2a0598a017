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
