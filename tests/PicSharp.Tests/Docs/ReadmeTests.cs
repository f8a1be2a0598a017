using System.Text.RegularExpressions;

namespace PicSharp.Tests.Docs;

/// <summary>
/// The README cannot drift from what is tested: its C# examples are the sources scripts/test-packages.sh builds and
/// runs against the packages (tests/packages/NAME/Program.cs), and its test command is the one CI runs.
/// </summary>
public sealed partial class ReadmeTests
{
    static readonly string Root = RepositoryRoot();
    static readonly string Readme = File.ReadAllText(Path.Combine(Root, "README.md")).ReplaceLineEndings("\n");

    static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "PicSharp.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException($"no PicSharp.slnx above {AppContext.BaseDirectory}");
    }

    [GeneratedRegex("```csharp\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();

    [Fact]
    public void Every_package_example_is_a_csharp_block_of_the_readme_verbatim()
    {
        var blocks = CSharpBlock().Matches(Readme).Select(m => m.Groups[1].Value).ToList();
        var examples = Directory.GetFiles(Path.Combine(Root, "tests", "packages"), "Program.cs", SearchOption.AllDirectories);
        Assert.Equal(2, examples.Length);
        foreach (string example in examples)
            Assert.True(blocks.Contains(File.ReadAllText(example).ReplaceLineEndings("\n")),
                $"README.md has no ```csharp block equal to {Path.GetRelativePath(Root, example)}: copy the file into the README");
        Assert.Equal(examples.Length, blocks.Count); // no C# in the README that the package test does not run
    }

    [Fact]
    public void The_readme_test_command_is_what_ci_runs()
    {
        Assert.Contains("\nscripts/test.sh ", Readme);
        Assert.Contains("\nscripts/test.sh 2>&1", File.ReadAllText(Path.Combine(Root, ".ci", "run")));
    }
}
