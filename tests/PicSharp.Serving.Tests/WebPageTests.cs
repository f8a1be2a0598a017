using Microsoft.Playwright;

namespace PicSharp.Serving.Tests;

/// <summary>
/// The page at `/` in a real headless Chromium (Debian's `chromium` package, driven by Playwright through its
/// executable path; Playwright's own browser download is never used): paste a passage, compress, ask, see the answer.
/// </summary>
[Collection(nameof(TinyService))]
public sealed class WebPageTests(TinyService tiny)
{
    static string ChromiumPath()
    {
        string path = Environment.GetEnvironmentVariable("PIC_CHROMIUM") ?? "/usr/bin/chromium";
        Assert.True(File.Exists(path), $"no Chromium at {path}: `apt-get install -y chromium` (.ci/run does it) or set PIC_CHROMIUM");
        return path;
    }

    [Fact]
    public async Task Paste_compress_ask_shows_both_answers_with_times()
    {
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        await using var server = await RunningServer.StartAsync(tiny);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath(), Headless = true, Args = ["--no-sandbox", "--disable-gpu"],
        });
        var page = await browser.NewPageAsync();
        await page.GotoAsync(server.Address.ToString());
        await page.FillAsync("#document", TinyService.Passage);
        await page.ClickAsync("#compress");
        await page.WaitForSelectorAsync("#ask:not([disabled])", new PageWaitForSelectorOptions { Timeout = 20_000 });
        string info = await page.InnerTextAsync("#memory-info");
        int tokens = server.Engine.Tokenize(TinyService.Passage).Count;
        Assert.Contains($"{tokens} tokens → {(tokens + 3) / 4} memory tokens", info);

        await page.FillAsync("#question", "Who kept the lighthouse?");
        await page.CheckAsync("#full");
        await page.ClickAsync("#ask");
        await page.WaitForFunctionAsync("document.getElementById('time-full').textContent.includes('answer tokens')", null,
            new PageWaitForFunctionOptions { Timeout = 20_000 });

        string memoryId = server.Store.List(0, 1).Single().Id;
        var expected = await server.Service.AskAsync(memoryId, "Who kept the lighthouse?", 32);
        string shown = await page.InnerTextAsync("#answer-memory");
        Assert.Equal(expected.Result.Text.Length == 0 ? "(empty answer)" : expected.Result.Text, shown);
        Assert.Contains("answer tokens", await page.InnerTextAsync("#time-memory"));
        Assert.NotEqual("", await page.InnerTextAsync("#answer-full"));
        Assert.Equal("", await page.InnerTextAsync("#error"));
    }
}
