using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PicSharp.Serving.Http;
using PicSharp.Serving.Store;

namespace PicSharp.Serving.Tests;

/// <summary>`pic serve`'s app on a free loopback port, with its own store file; stopped and deleted on dispose.</summary>
public sealed class RunningServer : IAsyncDisposable
{
    readonly WebApplication app;

    public PicEngine Engine { get; }
    public SqliteMemoryStore Store { get; }
    public Uri Address { get; }
    public HttpClient Http { get; }
    public MemoryService Service => app.Services.GetRequiredService<MemoryService>();
    public IServiceProvider Services => app.Services;

    RunningServer(WebApplication app, PicEngine engine, SqliteMemoryStore store, string? apiKey)
    {
        this.app = app;
        Engine = engine;
        Store = store;
        Address = new Uri(app.Urls.First());
        Http = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(60) };
        if (apiKey is not null) Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
    }

    public static async Task<RunningServer> StartAsync(TinyService tiny, ServeOptions? options = null, PicEngine? engine = null)
    {
        options = (options ?? new ServeOptions()) with { Url = "http://127.0.0.1:0" };
        engine ??= tiny.OpenEngine();
        string storeDir = Directory.CreateTempSubdirectory("pic-store-").FullName;
        var store = new SqliteMemoryStore(Path.Combine(storeDir, "memories.db"));
        var app = ServeApp.Build(engine, store, options, logging => logging.SetMinimumLevel(LogLevel.Warning).AddSimpleConsole());
        await app.StartAsync();
        return new RunningServer(app, engine, store, options.ApiKey);
    }

    /// <summary>Occupies the model thread until released, so a test decides exactly what waits in the queue.</summary>
    public (Task Job, ManualResetEventSlim Release) HoldModel() => Hold(Service.Queue);

    /// <summary>Occupies <paramref name="queue"/>'s worker (started, not just queued) until released.</summary>
    public static (Task Job, ManualResetEventSlim Release) Hold(ModelQueue queue)
    {
        var release = new ManualResetEventSlim();
        var started = new ManualResetEventSlim();
        var job = queue.Run("hold", _ => { started.Set(); release.Wait(TimeSpan.FromSeconds(30)); return 0; });
        Assert.True(started.Wait(TimeSpan.FromSeconds(10)));
        return (job, release);
    }

    public static async Task WaitFor(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 10 s");
            await Task.Delay(20);
        }
    }

    /// <summary>What Ctrl+C does: stop listening, refuse new model work, finish what was accepted.</summary>
    public Task StopAsync() => app.StopAsync();

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
        Store.Dispose();
        Engine.Dispose();
        Directory.Delete(Path.GetDirectoryName(Store.Path)!, recursive: true);
    }
}
