using PicSharp.Training;

namespace PicSharp.Tests.Training;

public class DataTests
{
    [Fact]
    public void Same_seed_step_and_micro_step_give_the_same_batch()
    {
        var mix = TrainingFixtures.Mix();
        var a = new BatchSampler(mix, 32, 0.5, seed: 9, padTokenId: 0);
        var b = new BatchSampler(mix, 32, 0.5, seed: 9, padTokenId: 0);
        Assert.Equal(a.Sample(5, 1, 4).Inputs, b.Sample(5, 1, 4).Inputs);
        Assert.Equal(a.Sample(5, 1, 4).Targets, b.Sample(5, 1, 4).Targets);
        Assert.NotEqual(a.Sample(5, 1, 4).Inputs, a.Sample(6, 1, 4).Inputs);
        Assert.NotEqual(a.Sample(5, 1, 4).Inputs, a.Sample(5, 0, 4).Inputs);
        Assert.NotEqual(a.Sample(5, 1, 4).Inputs, new BatchSampler(mix, 32, 0.5, seed: 10, padTokenId: 0).Sample(5, 1, 4).Inputs);
    }

    [Fact]
    public void Targets_are_inputs_shifted_by_one()
    {
        var batch = new BatchSampler(TrainingFixtures.Mix(), 32, 0.0, seed: 1, padTokenId: 0).Sample(0, 0, 3);
        for (int r = 0; r < 3; r++)
            for (int t = 0; t < 31; t++)
                Assert.Equal(batch.Inputs[r * 32 + t + 1], batch.Targets[r * 32 + t]);
    }

    [Fact]
    public void Qa_rows_hold_whole_examples_then_padding()
    {
        var mix = TrainingFixtures.Mix();
        var examples = Enumerable.Range(0, mix.QaCount).Select(i => mix.QaExample(i).ToArray()).ToList();
        var sampler = new BatchSampler(mix, 64, 1.0, seed: 3, padTokenId: 0);
        for (int step = 0; step < 20; step++)
        {
            var batch = sampler.Sample(step, 0, 2);
            for (int r = 0; r < 2; r++)
            {
                var row = batch.Inputs.Skip(r * 64).Take(64).ToArray();
                var rowTargets = batch.Targets.Skip(r * 64).Take(64).ToArray();
                int real = rowTargets.Count(t => t != BatchSampler.IgnoreIndex) + 1;
                // The real part is a concatenation of whole examples, each ending in EOS.
                var tokens = row.Take(real).Select(t => (int)t).ToList();
                while (tokens.Count > 0)
                {
                    var match = examples.FirstOrDefault(e => tokens.Take(e.Length).SequenceEqual(e));
                    Assert.NotNull(match);
                    tokens.RemoveRange(0, match.Length);
                }
                Assert.All(rowTargets.Skip(real - 1), t => Assert.Equal(BatchSampler.IgnoreIndex, t));
            }
        }
    }

    [Fact]
    public void Qa_share_sets_the_fraction_of_qa_rows()
    {
        var mix = TrainingFixtures.Mix();
        var sampler = new BatchSampler(mix, 32, 0.25, seed: 4, padTokenId: 0);
        int qaRows = 0, rows = 0;
        for (int step = 0; step < 100; step++)
        {
            var batch = sampler.Sample(step, 0, 8);
            for (int r = 0; r < 8; r++, rows++)
                if (batch.Targets.Skip(r * 32).Take(32).Contains(BatchSampler.IgnoreIndex)) qaRows++;
        }
        Assert.InRange((double)qaRows / rows, 0.18, 0.32);
    }

    [Fact]
    public void Token_cache_round_trips_and_rebuilds_when_inputs_change()
    {
        string dir = TrainingFixtures.TempDir();
        try
        {
            string cache = Path.Combine(dir, "mix.bin");
            var docs = TrainingFixtures.Documents;
            var built = TokenizedMix.LoadOrBuild(cache, docs, TrainingFixtures.QaTexts, TrainingFixtures.CharEncoder);
            var loaded = TokenizedMix.Load(cache);
            Assert.Equal(built.CorpusTokens, loaded.CorpusTokens);
            Assert.Equal(built.InputHash, loaded.InputHash);
            Assert.Equal(built.QaExample(1).ToArray(), loaded.QaExample(1).ToArray());
            Assert.Equal(TrainingFixtures.Eos, loaded.QaExample(0)[^1]);

            var changed = TokenizedMix.LoadOrBuild(cache, [.. docs, "one more document"], TrainingFixtures.QaTexts, TrainingFixtures.CharEncoder);
            Assert.NotEqual(built.InputHash, changed.InputHash);
            Assert.Equal(changed.InputHash, TokenizedMix.Load(cache).InputHash);
            Assert.Single(Directory.GetFiles(dir));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void Truncated_cache_is_a_clear_error()
    {
        string dir = TrainingFixtures.TempDir();
        try
        {
            string cache = Path.Combine(dir, "mix.bin");
            TrainingFixtures.Mix().Save(cache);
            var bytes = File.ReadAllBytes(cache);
            File.WriteAllBytes(cache, bytes[..^5]);
            var e = Assert.Throws<TrainingException>(() => TokenizedMix.Load(cache));
            Assert.Contains("truncated", e.Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void Qa_examples_longer_than_a_sequence_are_skipped_and_none_fitting_is_an_error()
    {
        var mix = TrainingFixtures.Mix();
        int longest = Math.Max(mix.QaExample(0).Length, mix.QaExample(1).Length);
        int shortest = Math.Min(mix.QaExample(0).Length, mix.QaExample(1).Length);
        Assert.Equal(0, new BatchSampler(mix, longest - 1, 0.5, 1, 0).SkippedQaExamples);
        Assert.Equal(1, new BatchSampler(mix, longest - 2, 0.5, 1, 0).SkippedQaExamples);
        Assert.Throws<TrainingException>(() => new BatchSampler(mix, shortest - 2, 0.5, 1, 0));
    }
}
