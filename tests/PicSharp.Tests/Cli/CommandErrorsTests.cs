using PicSharp.Cli.Commands;

namespace PicSharp.Tests.Cli;

/// <summary>Errors with one meaning on the command line: refused input is one line and exit 1; anything else is a bug,
/// said to be one, with its trace and exit 2.</summary>
public class CommandErrorsTests
{
    static (int ExitCode, string Error) Run(Exception thrown)
    {
        lock (PicCli.ConsoleLock)
        {
            var previous = Console.Error;
            var error = new StringWriter();
            Console.SetError(error);
            try { return (CommandErrors.Run("pic test", () => throw thrown), error.ToString()); }
            finally { Console.SetError(previous); }
        }
    }

    [Fact]
    public void Refused_input_is_one_line_and_exit_1()
    {
        foreach (var e in new Exception[] { new InvalidInputException("--questions must be at least 1, got 0"), new FileNotFoundException("input file x does not exist"), new InvalidDataException("x is not valid UTF-8") })
        {
            var (code, error) = Run(e);
            Assert.Equal((1, $"pic test: {e.Message}"), (code, error.Trim()));
        }
    }

    [Fact]
    public void An_argument_or_key_exception_from_inside_is_a_bug_with_its_trace_and_exit_2()
    {
        foreach (var e in new Exception[] { new ArgumentException("memory row 3 does not exist"), new KeyNotFoundException("The given key 'x' was not present"), new NullReferenceException() })
        {
            var (code, error) = Run(e);
            Assert.Equal(2, code);
            var lines = error.Trim().Split('\n');
            Assert.StartsWith("pic test: internal error (a bug in pic", lines[0]);
            Assert.Contains(e.GetType().Name, lines[0]);
            Assert.Contains(lines, line => line.TrimStart().StartsWith("at PicSharp.Tests.Cli.CommandErrorsTests")); // the trace
        }
    }

    [Fact]
    public void A_real_command_refuses_bad_input_with_exit_1()
    {
        var result = PicCli.Run("generate", "--model", "no-such-folder", "--prompt", "x", "--temperature", "-1");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("pic generate: temperature must be a number ≥ 0 (0 = greedy), got -1", result.Error.Trim());
    }

    [Fact]
    public void Compressor_settings_refused_by_the_library_are_the_users_input_on_the_command_line()
    {
        using var dir = new PicSharp.Tests.Data.TempDirectory();
        foreach (var (args, expected) in new[]
        {
            (new[] { "--policy", "diagonal" }, "unknown mask policy 'diagonal'"),
            (new[] { "--ratio", "3", "--chunk-length", "64" }, "chunk length 64 is not a multiple of ratio 3"),
        })
        {
            var result = PicCli.Run(["init-compressor", "--model", "no-such-folder", "--out", dir.File("c"), .. args]);
            Assert.Equal(1, result.ExitCode);
            Assert.StartsWith($"pic init-compressor: {expected}", result.Error.Trim());
            Assert.Single(result.Error.Trim().Split('\n'));
        }
    }

    [Fact]
    public void Generator_and_tokenizer_settings_the_library_refuses_are_the_users_input()
    {
        using var dir = new PicSharp.Tests.Data.TempDirectory();
        string text = dir.File("text.txt");
        File.WriteAllText(text, "a few words to train on");
        foreach (var (args, expected) in new[]
        {
            (new[] { "data", "qa", "--kind", "recall", "--split", "train", "--min-entities", "1", "--out", dir.File("q.json") }, "pic data qa: recall drills need 2 <= min items"),
            (new[] { "data", "qa", "--kind", "facts", "--split", "train", "--min-tokens", "500", "--max-tokens", "100", "--out", dir.File("q.json") }, "pic data qa: need 1 <= min tokens <= max tokens"),
            (new[] { "tokenizer", "train", "--input", text, "--vocab-size", "10", "--out", dir.File("t.json") }, "pic tokenizer train: VocabSize 10 is smaller than"),
        })
        {
            var result = PicCli.Run(args);
            Assert.Equal(1, result.ExitCode);
            Assert.StartsWith(expected, result.Error.Trim());
            Assert.Single(result.Error.Trim().Split('\n'));
        }
    }
}
