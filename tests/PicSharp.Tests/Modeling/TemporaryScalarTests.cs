using PicSharp.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace PicSharp.Tests.Modeling;

/// <summary>
/// No code of ours hands torch a Scalar that nothing keeps alive (a crash or a wrong value when another thread's
/// garbage collection frees it mid-call; docs/perf.md, "A crash TorchSharp can cause").
/// </summary>
public class TemporaryScalarTests
{
    [Fact]
    public void The_library_passes_torch_no_temporary_scalar()
    {
        var sites = TemporaryScalarScan.Find(typeof(TorchScalars).Assembly);
        Assert.True(sites.Count == 0, "temporary Scalars:\n" + string.Join("\n", sites));
    }

    [Fact]
    public void The_command_line_passes_torch_no_temporary_scalar()
    {
        var sites = TemporaryScalarScan.Find(typeof(PicSharp.Cli.Commands.CommandErrors).Assembly);
        Assert.True(sites.Count == 0, "temporary Scalars:\n" + string.Join("\n", sites));
    }

    [Theory]
    [InlineData(nameof(Patterns.Plus))]
    [InlineData(nameof(Patterns.TimesNumber))]
    [InlineData(nameof(Patterns.FillWithNumber))]
    [InlineData(nameof(Patterns.AddInPlace))]
    [InlineData(nameof(Patterns.ArangeOfCount))]
    [InlineData(nameof(Patterns.ScalarInUnusedLocal))]
    [InlineData(nameof(Patterns.TorchSharpOptimizerStep))]
    [InlineData(nameof(Patterns.InLambda))]
    public void The_scan_finds_each_kind_of_temporary_scalar(string method)
    {
        var sites = TemporaryScalarScan.Find([typeof(Patterns)]);
        Assert.Contains(sites, s => s.Method.Contains(method));
    }

    [Theory]
    [InlineData(nameof(Patterns.PlusWithHeldOne))]
    [InlineData(nameof(Patterns.TimesUsingLocal))]
    [InlineData(nameof(Patterns.TimesField))]
    [InlineData(nameof(Patterns.HeldRange))]
    public void The_scan_accepts_held_scalars(string method)
    {
        var sites = TemporaryScalarScan.Find([typeof(Patterns)]);
        Assert.DoesNotContain(sites, s => s.Method.EndsWith("." + method));
    }

    /// <summary>Code the scan is run on, never called.</summary>
    sealed class Patterns
    {
        readonly TorchSharp.Scalar half = 0.5.ToScalar();

        public static Tensor Plus(Tensor a, Tensor b) => a + b;
        public static Tensor TimesNumber(Tensor a) => a * 0.5;
        public static Tensor FillWithNumber(Tensor a, Tensor mask) => a.masked_fill(mask, 0);
        public static Tensor AddInPlace(Tensor a, Tensor b) => a.add_(b);
        public static Tensor ArangeOfCount(long n) => arange(n, dtype: ScalarType.Int64);

        public static Tensor ScalarInUnusedLocal(Tensor a)
        {
            var s = 0.5.ToScalar(); // reachable only until the call reads its handle
            return a.mul(s);
        }

        public static void TorchSharpOptimizerStep(TorchSharp.Modules.Parameter p) => optim.AdamW([p]).step();

        public static Func<Tensor, Tensor> InLambda() => x => x * 2;

        public static Tensor PlusWithHeldOne(Tensor a, Tensor b) => a.add(b, TorchScalars.One);

        public static Tensor TimesUsingLocal(Tensor a, double factor)
        {
            using var s = factor.ToScalar();
            return a.mul(s);
        }

        public Tensor TimesField(Tensor a) => a.mul(half);
        public static Tensor HeldRange(long n) => TorchScalars.Range(0, n);
    }
}
