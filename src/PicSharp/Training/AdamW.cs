using System.Globalization;
using System.Text.Json;
using PicSharp.Modeling;
using PicSharp.Storage;
using TorchSharp;
using static TorchSharp.torch;
using Parameter = TorchSharp.Modules.Parameter;

namespace PicSharp.Training;

/// <summary>Parameters that share a learning rate and a weight decay.</summary>
public sealed class AdamWGroup(IReadOnlyList<Parameter> parameters, double learningRate, double weightDecay)
{
    public IReadOnlyList<Parameter> Parameters { get; } = parameters;
    /// <summary>Set before each step by the schedule.</summary>
    public double LearningRate { get; set; } = learningRate;
    public double WeightDecay { get; } = weightDecay;
}

/// <summary>
/// AdamW with decoupled weight decay (Loshchilov and Hutter), the same arithmetic, in the same order, as TorchSharp's
/// <c>optim.AdamW</c> (so a step gives the same bits), but passing torch no temporary <see cref="Scalar"/>: TorchSharp's
/// makes one for every <c>mul_</c>, <c>add_</c> and <c>addcdiv_</c>, and a garbage collection on another thread can
/// free it mid-call (docs/perf.md, "A crash TorchSharp can cause"). Here the betas and eps are fields and the
/// per-step numbers are disposed only after the calls that read them.
/// State is a safetensors file keyed by group and position, the step counts in its metadata.
/// </summary>
public sealed class AdamW : IDisposable
{
    /// <summary>The state file's name in a checkpoint folder.</summary>
    public const string FileName = "optimizer.safetensors";
    /// <summary>The file TorchSharp's optimizer wrote before 2026-12-04; <see cref="Load"/> still reads it.</summary>
    public const string LegacyFile = "optimizer.dat";
    const string Format = "picsharp-adamw";

    readonly double beta1, beta2, eps;
    readonly Scalar beta1Scalar, oneMinusBeta1, beta2Scalar, oneMinusBeta2, epsScalar;
    readonly ParameterState[][] state;

    sealed class ParameterState(Parameter parameter) : IDisposable
    {
        public Parameter Parameter { get; } = parameter;
        public long Step { get; set; }
        public Tensor ExpAvg { get; } = zeros_like(parameter).DetachFromDisposeScope();
        public Tensor ExpAvgSq { get; } = zeros_like(parameter).DetachFromDisposeScope();

        public void Dispose()
        {
            ExpAvg.Dispose();
            ExpAvgSq.Dispose();
        }
    }

    public IReadOnlyList<AdamWGroup> Groups { get; }

    public AdamW(IReadOnlyList<AdamWGroup> groups, double beta1, double beta2, double eps = 1e-8)
    {
        if (beta1 is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(beta1), beta1, "beta1 must be in [0, 1)");
        if (beta2 is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(beta2), beta2, "beta2 must be in [0, 1)");
        if (eps < 0) throw new ArgumentOutOfRangeException(nameof(eps), eps, "eps must not be negative");
        Groups = groups;
        (this.beta1, this.beta2, this.eps) = (beta1, beta2, eps);
        beta1Scalar = beta1.ToScalar();
        oneMinusBeta1 = (1 - beta1).ToScalar();
        beta2Scalar = beta2.ToScalar();
        oneMinusBeta2 = (1 - beta2).ToScalar();
        epsScalar = eps.ToScalar();
        using var _ = no_grad();
        state = groups.Select(g => g.Parameters.Select(p => new ParameterState(p)).ToArray()).ToArray();
    }

    /// <summary>Zeroes every gradient in place (the gradient tensors stay allocated).</summary>
    public void ZeroGrad()
    {
        using var _ = NewDisposeScope();
        foreach (var group in state)
            foreach (var s in group)
                s.Parameter.grad?.zero_();
    }

    /// <summary>One update of every parameter that has a gradient.</summary>
    public void Step()
    {
        using var _ = no_grad();
        for (int g = 0; g < state.Length; g++)
        {
            double lr = Groups[g].LearningRate, weightDecay = Groups[g].WeightDecay;
            using var decay = (1 - lr * weightDecay).ToScalar();
            foreach (var s in state[g])
            {
                using var scope = NewDisposeScope();
                var grad = s.Parameter.grad;
                if (grad is null) continue;
                s.Step++;
                var param = s.Parameter;
                param.mul_(decay);
                double biasCorrection1 = 1 - Math.Pow(beta1, s.Step);
                double biasCorrection2 = 1 - Math.Pow(beta2, s.Step);
                s.ExpAvg.mul_(beta1Scalar).add_(grad, oneMinusBeta1);
                s.ExpAvgSq.mul_(beta2Scalar).addcmul_(grad, grad, oneMinusBeta2);
                using var correction2 = Math.Sqrt(biasCorrection2).ToScalar();
                var denominator = s.ExpAvgSq.sqrt().div_(correction2).add_(epsScalar, TorchScalars.One);
                using var stepSize = (-lr / biasCorrection1).ToScalar();
                param.addcdiv_(s.ExpAvg, denominator, stepSize);
            }
        }
    }

    /// <summary>Writes the moments and step counts (atomically).</summary>
    public void Save(string path)
    {
        var tensors = new Dictionary<string, Tensor>();
        for (int g = 0; g < state.Length; g++)
            for (int i = 0; i < state[g].Length; i++)
            {
                tensors[$"{g}.{i}.exp_avg"] = state[g][i].ExpAvg;
                tensors[$"{g}.{i}.exp_avg_sq"] = state[g][i].ExpAvgSq;
            }
        var metadata = new Dictionary<string, string>
        {
            ["format"] = Format,
            ["beta1"] = beta1.ToString("R", CultureInfo.InvariantCulture),
            ["beta2"] = beta2.ToString("R", CultureInfo.InvariantCulture),
            ["eps"] = eps.ToString("R", CultureInfo.InvariantCulture),
            ["steps"] = JsonSerializer.Serialize(state.Select(g => g.Select(s => s.Step).ToArray()).ToArray()),
        };
        SafeTensorsFile.Save(path, tensors, metadata);
    }

    /// <summary>
    /// Restores state written by <see cref="Save"/>; when <paramref name="path"/> does not exist but a
    /// <see cref="LegacyFile"/> sits beside it, reads that through TorchSharp's own optimizer (checkpoints written before
    /// this optimizer existed resume exactly).
    /// </summary>
    public void Load(string path)
    {
        string legacy = Path.Combine(Path.GetDirectoryName(path) ?? ".", LegacyFile);
        if (!File.Exists(path) && File.Exists(legacy)) { LoadLegacy(legacy); return; }
        using var reader = new SafeTensorsReader(path);
        var metadata = reader.Header.Metadata;
        if (!metadata.TryGetValue("format", out var format) || format != Format)
            throw new InvalidDataException($"{path}: not a PicSharp AdamW state (metadata format is '{format}')");
        long[][] steps = JsonSerializer.Deserialize<long[][]>(metadata.GetValueOrDefault("steps") ?? "null")
            ?? throw new InvalidDataException($"{path}: the step counts are missing");
        if (steps.Length != state.Length || steps.Zip(state).Any(p => p.First.Length != p.Second.Length))
            throw new InvalidDataException(
                $"{path}: holds state for groups of [{string.Join(", ", steps.Select(s => s.Length))}] parameters, " +
                $"this optimizer has [{string.Join(", ", state.Select(s => s.Length))}]");
        using var _ = no_grad();
        for (int g = 0; g < state.Length; g++)
            for (int i = 0; i < state[g].Length; i++)
            {
                reader.ReadInto($"{g}.{i}.exp_avg", state[g][i].ExpAvg);
                reader.ReadInto($"{g}.{i}.exp_avg_sq", state[g][i].ExpAvgSq);
                state[g][i].Step = steps[g][i];
            }
    }

    void LoadLegacy(string path)
    {
        var groups = Groups.Select(g => new TorchSharp.Modules.AdamW.ParamGroup(g.Parameters, lr: g.LearningRate,
            beta1: beta1, beta2: beta2, eps: eps, weight_decay: g.WeightDecay)).ToArray();
        using var legacy = optim.AdamW(groups, beta1: beta1, beta2: beta2, eps: eps);
        legacy.load_state_dict(path);
        var states = legacy.state_dict().State.Cast<TorchSharp.Modules.AdamW.State>().ToArray();
        using var _ = no_grad();
        int k = 0;
        foreach (var s in state.SelectMany(g => g))
        {
            var source = states[k++];
            s.ExpAvg.copy_(source.exp_avg);
            s.ExpAvgSq.copy_(source.exp_avg_sq);
            s.Step = source.step;
        }
    }

    public void Dispose()
    {
        foreach (var s in state.SelectMany(g => g)) s.Dispose();
        foreach (var scalar in new[] { beta1Scalar, oneMinusBeta1, beta2Scalar, oneMinusBeta2, epsScalar }) scalar.Dispose();
    }
}
