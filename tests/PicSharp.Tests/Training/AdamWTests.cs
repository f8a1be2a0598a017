using PicSharp.Training;
using TorchSharp;
using static TorchSharp.torch;
using AdamW = PicSharp.Training.AdamW;
using Parameter = TorchSharp.Modules.Parameter;

namespace PicSharp.Tests.Training;

/// <summary>Our AdamW is TorchSharp's, step for step and bit for bit, and its state resumes exactly.</summary>
public class AdamWTests
{
    const double Beta1 = 0.9, Beta2 = 0.95, WeightDecay = 0.1;

    // A matrix with weight decay, a vector without: the two groups the trainers use.
    static Parameter[] Parameters(int seed)
    {
        var generator = new Generator((ulong)seed);
        return [new Parameter(randn(4, 3, generator: generator)), new Parameter(randn(3, generator: generator))];
    }

    static Parameter[] Copy(Parameter[] parameters) => parameters.Select(p => new Parameter(p.detach().clone())).ToArray();

    static AdamW Ours(Parameter[] p) =>
        new([new AdamWGroup([p[0]], 1e-2, WeightDecay), new AdamWGroup([p[1]], 3e-2, 0)], Beta1, Beta2);

    static TorchSharp.Modules.AdamW Theirs(Parameter[] p) => optim.AdamW(
        [
            new TorchSharp.Modules.AdamW.ParamGroup([p[0]], lr: 1e-2, beta1: Beta1, beta2: Beta2, weight_decay: WeightDecay),
            new TorchSharp.Modules.AdamW.ParamGroup([p[1]], lr: 3e-2, beta1: Beta1, beta2: Beta2, weight_decay: 0),
        ], beta1: Beta1, beta2: Beta2);

    // The same gradients for both copies at a step, and a schedule that changes the rates.
    static void SetGradients(Parameter[] p, int step)
    {
        var generator = new Generator((ulong)(1000 + step));
        foreach (var parameter in p) parameter.grad = randn(parameter.shape, generator: generator);
    }

    static double Rate(int group, int step) => (group == 0 ? 1e-2 : 3e-2) * (1 + step) / 5.0;

    static void StepOurs(AdamW optimizer, Parameter[] p, int step)
    {
        SetGradients(p, step);
        for (int g = 0; g < 2; g++) optimizer.Groups[g].LearningRate = Rate(g, step);
        optimizer.Step();
    }

    static void StepTheirs(TorchSharp.Modules.AdamW optimizer, Parameter[] p, int step)
    {
        SetGradients(p, step);
        var groups = optimizer.ParamGroups.ToArray();
        for (int g = 0; g < 2; g++) groups[g].LearningRate = Rate(g, step);
        optimizer.step();
    }

    static void AssertSameBits(Parameter[] a, Parameter[] b)
    {
        for (int i = 0; i < a.Length; i++) Assert.True(a[i].eq(b[i]).all().item<bool>(), $"parameter {i} differs");
    }

    [Fact]
    public void Steps_equal_TorchSharps_AdamW_bit_for_bit()
    {
        var ours = Parameters(1);
        var theirs = Copy(ours);
        using var a = Ours(ours);
        using var b = Theirs(theirs);
        for (int step = 0; step < 6; step++)
        {
            StepOurs(a, ours, step);
            StepTheirs(b, theirs, step);
        }
        AssertSameBits(ours, theirs);
        Assert.False(ours[0].eq(Parameters(1)[0]).all().item<bool>(), "the parameters did not move");
    }

    [Fact]
    public void A_parameter_without_a_gradient_is_left_alone()
    {
        var p = Parameters(2);
        var before = Copy(p);
        using var optimizer = Ours(p);
        optimizer.Step();
        AssertSameBits(p, before);
    }

    [Fact]
    public void Saved_state_resumes_exactly()
    {
        string dir = TrainingFixtures.TempDir();
        try
        {
            var straight = Parameters(3);
            var resumed = Copy(straight);
            using (var a = Ours(straight))
                for (int step = 0; step < 5; step++) StepOurs(a, straight, step);

            string path = Path.Combine(dir, AdamW.FileName);
            using (var first = Ours(resumed))
            {
                for (int step = 0; step < 3; step++) StepOurs(first, resumed, step);
                first.Save(path);
            }
            using var second = Ours(resumed);
            second.Load(path);
            for (int step = 3; step < 5; step++) StepOurs(second, resumed, step);
            AssertSameBits(straight, resumed);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void Reads_the_state_TorchSharps_optimizer_wrote_and_continues_as_it_would()
    {
        string dir = TrainingFixtures.TempDir();
        try
        {
            var theirs = Parameters(4);
            using var b = Theirs(theirs);
            for (int step = 0; step < 3; step++) StepTheirs(b, theirs, step);
            b.save_state_dict(Path.Combine(dir, AdamW.LegacyFile));

            var ours = Copy(theirs);
            using var a = Ours(ours);
            a.Load(Path.Combine(dir, AdamW.FileName));
            for (int step = 3; step < 5; step++)
            {
                StepOurs(a, ours, step);
                StepTheirs(b, theirs, step);
            }
            AssertSameBits(ours, theirs);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void A_state_for_other_parameters_is_refused_with_the_reason()
    {
        string dir = TrainingFixtures.TempDir();
        try
        {
            string path = Path.Combine(dir, AdamW.FileName);
            var p = Parameters(5);
            using (var twoGroups = Ours(p)) twoGroups.Save(path);
            using var oneGroup = new AdamW([new AdamWGroup(p, 1e-2, 0)], Beta1, Beta2);
            var error = Assert.Throws<InvalidDataException>(() => oneGroup.Load(path));
            Assert.Contains("groups of [1, 1] parameters, this optimizer has [2]", error.Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
