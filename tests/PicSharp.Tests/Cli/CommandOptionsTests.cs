using System.CommandLine;
using PicSharp.Cli;

namespace PicSharp.Tests.Cli;

/// <summary>Options shared by every command: one `--threads` with one default, one dtype vocabulary.</summary>
public sealed class CommandOptionsTests
{
    static IEnumerable<(string Path, Command Command)> AllCommands()
    {
        IEnumerable<(string, Command)> Walk(string prefix, Command command) =>
            command.Subcommands.Count == 0
                ? [($"{prefix}{command.Name}", command)]
                : command.Subcommands.SelectMany(sub => Walk($"{prefix}{command.Name} ", sub));
        return CommandCatalog.All().SelectMany(command => Walk("", command));
    }

    // Every command that runs a model (the others read files, train a tokenizer or fetch packages).
    static readonly string[] ModelCommands =
        ["init", "generate", "perplexity", "pretrain-lm", "train-compressor", "memory-bounds", "eval-lm", "demo", "bench forward", "bench compress", "bench memory", "bench load",
         "bench ask", "bench batch", "compress", "ask", "append", "serve", "worker"];

    [Fact]
    public void Every_model_command_has_threads_defaulting_to_all_cores()
    {
        var commands = AllCommands().ToDictionary(c => c.Path, c => c.Command);
        foreach (string name in ModelCommands)
        {
            var threads = commands[name].Options.SingleOrDefault(o => o.Name == "--threads");
            Assert.True(threads is not null, $"{name} has no --threads");
            Assert.Equal(Environment.ProcessorCount, threads.GetDefaultValue());
            Assert.Contains($"1 to this machine's {Environment.ProcessorCount} cores", threads.Description);
        }
        Assert.Equal(ModelCommands.Order(), commands.Where(c => c.Value.Options.Any(o => o.Name == "--threads")).Select(c => c.Key).Order());
    }

    [Fact]
    public void Dtypes_are_named_as_in_config_json_in_every_help_text()
    {
        var dtypeOptions = AllCommands().SelectMany(c => c.Command.Options.Where(o => o.Name.EndsWith("dtype")).Select(o => (c.Path, Option: o))).ToList();
        Assert.Contains(dtypeOptions, d => d.Path == "generate");
        Assert.Contains(dtypeOptions, d => d.Path == "perplexity");
        foreach (var (path, option) in dtypeOptions)
        {
            Assert.Contains("float32", option.Description);
            Assert.DoesNotContain("fp32", option.Description);
            Assert.DoesNotContain("bf16", option.Description);
        }
        foreach (var (path, command) in AllCommands())
        {
            Assert.DoesNotContain("fp32", command.Description);
            Assert.DoesNotContain("bf16", command.Description);
        }
    }
}
