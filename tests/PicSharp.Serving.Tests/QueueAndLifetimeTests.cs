using System.Net;
using System.Text;
using System.Text.Json;
using PicSharp.Serving.Http;

namespace PicSharp.Serving.Tests;

/// <summary>Back-pressure, timeouts, client disconnects and shutdown: the model queue seen through HTTP.</summary>
[Collection(nameof(TinyService))]
public sealed class QueueAndLifetimeTests(TinyService tiny)
{
    static StringContent Body(object value) => new(JsonSerializer.Serialize(value), Encoding.UTF8, "application/json");

    // Straight through the service: the first forward of a fresh model is slow, and these tests time HTTP requests.
    static async Task<string> CreateAsync(RunningServer server) => (await server.Service.CreateAsync(TinyService.Passage)).Record.Id;

    [Fact]
    public async Task A_full_queue_answers_429_with_retry_after()
    {
        await using var server = await RunningServer.StartAsync(tiny, new ServeOptions { QueueCapacity = 1 });
        string id = await CreateAsync(server);
        var (blocker, release) = server.HoldModel();
        var waiting = server.Http.PostAsync($"/v1/memories/{id}/ask", Body(new { question = "Who?", max_tokens = 2 }));
        while (server.Service.Queue.Waiting < 1) await Task.Delay(10);

        var refused = await server.Http.PostAsync($"/v1/memories/{id}/ask", Body(new { question = "Who?", max_tokens = 2 }));
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.True(refused.Headers.RetryAfter!.Delta >= TimeSpan.FromSeconds(1));
        Assert.Contains("queue is full", await refused.Content.ReadAsStringAsync());

        release.Set();
        await blocker;
        Assert.Equal(HttpStatusCode.OK, (await waiting).StatusCode); // the accepted request still completes
    }

    [Fact]
    public async Task A_request_over_its_time_limit_gets_504_and_its_queued_job_is_skipped()
    {
        await using var server = await RunningServer.StartAsync(tiny, new ServeOptions { RequestTimeout = TimeSpan.FromSeconds(2) });
        string id = await CreateAsync(server);
        var (blocker, release) = server.HoldModel();
        var late = await server.Http.PostAsync($"/v1/memories/{id}/ask", Body(new { question = "Who?", max_tokens = 2 }));
        Assert.Equal(HttpStatusCode.GatewayTimeout, late.StatusCode);
        Assert.Contains("2 s limit", await late.Content.ReadAsStringAsync());
        release.Set();
        await blocker;
        await RunningServer.WaitFor(() => server.Service.Queue.CancelledJobs == 1);
    }

    [Fact]
    public async Task A_client_that_disconnects_cancels_its_work()
    {
        await using var server = await RunningServer.StartAsync(tiny);
        string id = await CreateAsync(server);
        var (blocker, release) = server.HoldModel();
        using var gone = new CancellationTokenSource();
        var request = server.Http.PostAsync($"/v1/memories/{id}/ask", Body(new { question = "Who?", max_tokens = 2, stream = true }), gone.Token);
        await RunningServer.WaitFor(() => server.Service.Queue.Waiting == 1); // queued behind the blocker...
        gone.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
        await RunningServer.WaitFor(() => server.Service.Queue.GivenUpCallers == 1); // the server sees the closed connection asynchronously
        release.Set();
        await blocker;
        await RunningServer.WaitFor(() => server.Service.Queue.CancelledJobs == 1); // ...and is skipped, not run
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/health")).StatusCode);
    }

    [Fact]
    public async Task Shutdown_finishes_accepted_work_and_refuses_new_work()
    {
        var server = await RunningServer.StartAsync(tiny);
        await using var owned = server;
        string id = await CreateAsync(server);
        var (blocker, release) = server.HoldModel();
        var inFlight = server.Http.PostAsync($"/v1/memories/{id}/ask", Body(new { question = "Who?", max_tokens = 2 }));
        await RunningServer.WaitFor(() => server.Service.Queue.Waiting == 1);

        var stopping = server.StopAsync();
        await RunningServer.WaitFor(() => server.Service.Queue.IsClosed);
        Assert.Throws<QueueClosedException>(() => { _ = server.Service.Queue.Run("late", _ => 0); });
        release.Set();
        Assert.Equal(HttpStatusCode.OK, (await inFlight).StatusCode);
        await stopping;
    }
}
