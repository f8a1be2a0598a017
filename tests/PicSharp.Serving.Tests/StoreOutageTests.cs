using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using PicSharp.Lab;
using PicSharp.Serving.Http;
using PicSharp.Serving.Store;

namespace PicSharp.Serving.Tests;

/// <summary>`pic serve` on PostgreSQL while the database restarts: clear 503s with Retry-After meanwhile (on the API,
/// the OpenAI endpoint and /ready), and the service working again on its own once the database is back; under load
/// (a short `pic-lab store-restart`), nothing acknowledged is lost.</summary>
[Collection(nameof(TinyService))]
public sealed class StoreOutageTests(TinyService tiny)
{
    static StringContent Body(object value) => new(System.Text.Json.JsonSerializer.Serialize(value), Encoding.UTF8, "application/json");

    [Fact]
    public async Task A_database_restart_gives_503_with_retry_after_meanwhile_and_the_service_recovers_on_its_own()
    {
        var postgres = new PostgresServer();
        try
        {
            using var engine = tiny.OpenEngine();
            using var store = MemoryStores.Open(postgres.NewDatabase());
            await using var app = ServeApp.Build(engine, store, new ServeOptions { Url = "http://127.0.0.1:0" }, logging => logging.SetMinimumLevel(LogLevel.Critical));
            await app.StartAsync();
            using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };

            var created = await http.PostAsync("/v1/memories", Body(new { text = TinyService.Passage }));
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            string id = JsonNode.Parse(await created.Content.ReadAsStringAsync())!["id"]!.GetValue<string>();

            postgres.Stop();
            var refused = await http.PostAsync("/v1/memories", Body(new { text = TinyService.Passage + " More." }));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal("5", refused.Headers.GetValues("Retry-After").Single());
            Assert.StartsWith($"memory store {store.Location} is unavailable: ", JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["detail"]!.GetValue<string>());
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.PostAsync($"/v1/memories/{id}/ask", Body(new { question = "Who?" }))).StatusCode);
            var chat = await http.PostAsync("/v1/chat/completions", Body(new { model = "picsharp", messages = new object[]
                { new { role = "system", content = TinyService.Passage }, new { role = "user", content = "Who?" } } }));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, chat.StatusCode);
            Assert.Equal("server_error", JsonNode.Parse(await chat.Content.ReadAsStringAsync())!["error"]!["type"]!.GetValue<string>());
            var ready = await http.GetAsync("/ready");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            var readyBody = JsonNode.Parse(await ready.Content.ReadAsStringAsync())!;
            Assert.Equal(("store-unavailable", store.Location), (readyBody["status"]!.GetValue<string>(), readyBody["store"]!.GetValue<string>()));

            postgres.Start();
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/ready")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"/v1/memories/{id}")).StatusCode); // the acknowledged memory is still there
            Assert.Equal(HttpStatusCode.Created, (await http.PostAsync("/v1/memories", Body(new { text = TinyService.Passage + " More." }))).StatusCode);
            await app.StopAsync();
        }
        finally { postgres.Dispose(); }
    }

    [Fact]
    public async Task A_database_restarted_under_load_loses_nothing_acknowledged_and_clients_see_only_503_with_retry_after()
    {
        var postgres = new PostgresServer();
        try
        {
            var result = await StoreRestartDrill.RunAsync(new StoreRestartOptions(ServeCrashDrill.PicCommand(RepoFolder.PicDll()), tiny.ModelDir, tiny.CompressorDir,
                postgres.NewDatabase(), postgres.RestartCommand, Clients: 4, Before: 6, After: 6, Sentences: 4));
            Assert.True(result.Recovered, "the service did not acknowledge creates after the restart");
            Assert.True(result.Acknowledged >= 12, $"{result.Acknowledged} acknowledged");
            Assert.Equal((0, 0, 0), (result.Lost, result.Unanswered, result.UnavailableWithoutRetryAfter));
            Assert.All(result.Refused.Keys, status => Assert.Equal(503, status));
        }
        finally { postgres.Dispose(); }
    }
}
