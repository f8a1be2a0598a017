using PicSharp.Cli.Commands;

namespace PicSharp.Tests.Cli;

/// <summary>
/// Where the bundled model and compressor are found (PICSHARP_MODELS, then models/ beside the program, then models/ in
/// the current folder) and how the commands' --model/--compressor defaults follow it. The test binary's folder holds
/// models/ (the CLI project copies them beside the program), like an installed `pic`. One class: the tests change a
/// process-wide environment variable, and xunit runs one class's tests one at a time.
/// </summary>
public sealed class BundledModelsTests : IDisposable
{
    readonly string root = Directory.CreateTempSubdirectory("pic-bundled-").FullName;
    readonly string? savedVariable = Environment.GetEnvironmentVariable(BundledModels.EnvironmentVariable);

    public void Dispose()
    {
        Environment.SetEnvironmentVariable(BundledModels.EnvironmentVariable, savedVariable);
        Directory.Delete(root, recursive: true);
    }

    static string ProgramModels => Path.Combine(AppContext.BaseDirectory, "models");

    [Fact]
    public void Without_the_variable_the_models_beside_the_program_are_found()
    {
        Environment.SetEnvironmentVariable(BundledModels.EnvironmentVariable, null);
        var found = BundledModels.Find();
        Assert.NotNull(found);
        Assert.Equal(Path.GetFullPath(ProgramModels), found.Folder);
        Assert.Equal("the program's folder", found.FoundBy);
        Assert.True(File.Exists(Path.Combine(found.Model, "config.json")));
        Assert.True(File.Exists(Path.Combine(found.Compressor, "compressor.json")));
    }

    [Fact]
    public void The_variable_wins_and_a_folder_without_the_models_is_an_error_naming_it()
    {
        string copy = Path.Combine(root, "elsewhere");
        Directory.CreateDirectory(Path.Combine(copy, BundledModels.ModelName));
        File.Copy(Path.Combine(ProgramModels, BundledModels.ModelName, "config.json"), Path.Combine(copy, BundledModels.ModelName, "config.json"));
        Environment.SetEnvironmentVariable(BundledModels.EnvironmentVariable, copy);
        Assert.Equal(copy, BundledModels.Locate().Folder);
        Assert.Equal("$PICSHARP_MODELS", BundledModels.Locate().FoundBy);

        string empty = Path.Combine(root, "empty");
        Directory.CreateDirectory(empty);
        Environment.SetEnvironmentVariable(BundledModels.EnvironmentVariable, empty);
        Assert.Null(BundledModels.Find()); // no silent fall-back to the program's folder
        var error = Assert.Throws<DirectoryNotFoundException>(BundledModels.Locate);
        Assert.Contains(empty, error.Message);
        Assert.Contains("PICSHARP_MODELS", error.Message);
    }

    [Fact]
    public void The_bundled_compressor_follows_the_bundled_model_in_any_path_form()
    {
        Environment.SetEnvironmentVariable(BundledModels.EnvironmentVariable, null);
        var bundled = BundledModels.Locate();
        string relative = Path.GetRelativePath(Environment.CurrentDirectory, bundled.Model);
        string roundabout = Path.Combine(bundled.Folder, "..", "models", BundledModels.ModelName) + Path.DirectorySeparatorChar;
        foreach (string form in new[] { bundled.Model, relative, roundabout })
        {
            Assert.Equal(bundled.Model, EngineOptions.ModelFolder(form));
            Assert.Equal(bundled.Compressor, EngineOptions.CompressorOrBundled(null, EngineOptions.ModelFolder(form)));
        }
        Assert.Equal(bundled.Model, EngineOptions.ModelFolder(null));

        // Another model gets no compressor it was not trained with; a given compressor is made absolute.
        Assert.Null(EngineOptions.CompressorOrBundled(null, Path.Combine(root, "other-model")));
        Assert.Equal(Path.GetFullPath("some/compressor"), EngineOptions.CompressorOrBundled("some/compressor", bundled.Model));
    }

    [Fact]
    public void Info_without_a_folder_prints_where_the_bundled_models_were_found()
    {
        Environment.SetEnvironmentVariable(BundledModels.EnvironmentVariable, null);
        var result = PicCli.Run("info");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains($"bundled models: {Path.GetFullPath(ProgramModels)} (found by the program's folder)", result.Output);
        Assert.Contains($"model folder: {Path.Combine(Path.GetFullPath(ProgramModels), BundledModels.ModelName)}", result.Output);

        Environment.SetEnvironmentVariable(BundledModels.EnvironmentVariable, root);
        var missing = PicCli.Run("info");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains($"bundled models: not found in {root} ($PICSHARP_MODELS)", missing.Output);
        Assert.StartsWith("pic info: the bundled model picsharp-base was not found", missing.Error);
    }

    [Fact]
    public void A_missing_model_folder_is_reported_with_its_full_path()
    {
        string relative = Path.GetRelativePath(Environment.CurrentDirectory, Path.Combine(root, "no-such-model"));
        string input = Path.Combine(root, "text.txt");
        File.WriteAllText(input, "Some text to compress.");
        var result = PicCli.Run("compress", "--model", relative, "--compressor", "nowhere", "--input", input, "--out", Path.Combine(root, "x.mem"));
        Assert.Equal(1, result.ExitCode);
        Assert.Contains(Path.Combine(root, "no-such-model"), result.Error);
    }
}
