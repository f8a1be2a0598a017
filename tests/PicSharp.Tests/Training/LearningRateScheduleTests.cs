using PicSharp.Training;

namespace PicSharp.Tests.Training;

public class LearningRateScheduleTests
{
    static readonly TrainingOptions Options = new() { LearningRate = 1.0, MinLearningRateRatio = 0.1, WarmupSteps = 10, TotalSteps = 110 };

    [Theory]
    [InlineData(0, 0.1)]
    [InlineData(4, 0.5)]
    [InlineData(9, 1.0)]
    [InlineData(10, 1.0)]
    [InlineData(60, 0.55)] // halfway through the cosine: midpoint of peak and floor
    [InlineData(110, 0.1)]
    [InlineData(500, 0.1)]
    public void Warmup_then_cosine_to_the_floor(int step, double expected) =>
        Assert.Equal(expected, LearningRateSchedule.At(step, Options), 12);

    [Fact]
    public void Decay_is_monotone_after_warmup()
    {
        var rates = Enumerable.Range(10, 100).Select(s => LearningRateSchedule.At(s, Options)).ToArray();
        Assert.All(rates.Zip(rates.Skip(1)), pair => Assert.True(pair.Second < pair.First));
    }

    [Fact]
    public void No_warmup_starts_at_the_peak() =>
        Assert.Equal(1.0, LearningRateSchedule.At(0, Options with { WarmupSteps = 0 }), 12);
}
