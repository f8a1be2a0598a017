using System.CommandLine;
using PicSharp.Cli.Commands;
using PicSharp.Serving.Http;

namespace PicSharp.Tests.Cli;

/// <summary>`pic serve`'s address follows ASP.NET's conventions (--urls, ASPNETCORE_URLS, ';'-separated lists), and its
/// store defaults to the user's data folder, not the current one. One class: one test changes a process-wide variable.</summary>
public sealed class ServeCommandTests
{
    static string Url(params string[] args)
    {
        var command = ServeCommand.Create();
        var parse = new RootCommand { command }.Parse(["serve", .. args]);
        Assert.Empty(parse.Errors);
        return parse.GetValue(command.Options.OfType<Option<string>>().Single(o => o.Name == "--url"))!;
    }

    [Fact]
    public void Urls_come_from_url_or_urls_then_ASPNETCORE_URLS_then_loopback()
    {
        string? saved = Environment.GetEnvironmentVariable("ASPNETCORE_URLS");
        try
        {
            Environment.SetEnvironmentVariable("ASPNETCORE_URLS", null);
            Assert.Equal("http://127.0.0.1:8080", Url());
            Assert.Equal("http://127.0.0.1:5005", Url("--urls", "http://127.0.0.1:5005"));
            Assert.Equal("http://127.0.0.1:5006", Url("--url", "http://127.0.0.1:5006"));
            Environment.SetEnvironmentVariable("ASPNETCORE_URLS", "http://0.0.0.0:7000");
            Assert.Equal("http://0.0.0.0:7000", Url());
            Assert.Equal("http://127.0.0.1:5005", Url("--urls", "http://127.0.0.1:5005")); // the flag beats the variable
        }
        finally { Environment.SetEnvironmentVariable("ASPNETCORE_URLS", saved); }
    }

    [Fact]
    public void Addresses_are_checked_in_ASPNET_form()
    {
        new ServeOptions { Url = "http://*:8080;http://localhost:9000" }.Validate();
        new ServeOptions { Url = "http://+:80" }.Validate();
        var error = Assert.Throws<InvalidInputException>(() => new ServeOptions { Url = "http://127.0.0.1:8080;ftp://x" }.Validate());
        Assert.Contains("'ftp://x'", error.Message);
    }

    [Fact]
    public void The_default_store_is_in_the_user_data_folder()
    {
        string data = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify);
        Assert.Equal(Path.Combine(data, "PicSharp", "pic-memories.db"), ServeCommand.DefaultStore);
        Assert.True(Path.IsPathRooted(ServeCommand.DefaultStore));
        Assert.False(ServeCommand.DefaultStore.StartsWith(Environment.CurrentDirectory + Path.DirectorySeparatorChar));
    }
}
