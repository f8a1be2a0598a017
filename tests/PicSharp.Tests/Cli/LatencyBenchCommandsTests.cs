namespace PicSharp.Tests.Cli;

public class LatencyBenchCommandsTests
{
    [Theory]
    [InlineData("pic bench ask: --contexts must be positive", "bench", "ask", "--contexts", "0")]
    [InlineData("pic bench ask: model folder no/such/model not found", "bench", "ask", "--models", "no/such/model")]
    [InlineData("pic bench batch: --answer-tokens must be at least 2", "bench", "batch", "--answer-tokens", "1")]
    [InlineData("pic bench batch: --batches must be positive", "bench", "batch", "--batches", "4", "-1")]
    public void Bad_arguments_are_refused_in_one_line_before_any_model_runs(string expected, params string[] args)
    {
        var result = PicCli.Run(args);
        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith(expected, result.Error.Trim());
        Assert.Single(result.Error.Trim().Split('\n'));
    }
}
