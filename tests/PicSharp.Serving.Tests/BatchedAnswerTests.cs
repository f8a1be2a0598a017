using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using PicSharp.Modeling;
using PicSharp.Serving.Http;

namespace PicSharp.Serving.Tests;

/// <summary>Questions that wait in the queue together are decoded as one batch, and each caller still gets exactly
/// the answer it would get alone: through the real HTTP pipeline, streamed or not, PicSharp API and OpenAI chat.</summary>
[Collection(nameof(TinyService))]
public sealed class BatchedAnswerTests(TinyService tiny)
{
    const string Workshop = "Ivo Berg repaired clocks in the old mill by the river. He had two dogs, a blue bicycle and a drawer of brass keys.";

    static StringContent Body(object value) => new(JsonSerializer.Serialize(value), Encoding.UTF8, "application/json");

    sealed record Answer(string Text, int Tokens, string StopReason, int BatchSize);

    // The answer as the client sees it; a streamed answer must add up to its final `done` event.
    static async Task<Answer> AskAsync(RunningServer server, string id, string question, int maxTokens, bool stream, CancellationToken cancel = default)
    {
        using var response = await server.Http.SendAsync(new HttpRequestMessage(HttpMethod.Post, $"/v1/memories/{id}/ask")
            { Content = Body(new { question, max_tokens = maxTokens, stream }) }, HttpCompletionOption.ResponseHeadersRead, cancel);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        string body = await response.Content.ReadAsStringAsync(cancel);
        JsonNode answer;
        if (stream)
        {
            var events = ServerSentEvents.Parse(body);
            Assert.Equal("done", events[^1].Name);
            answer = JsonNode.Parse(events[^1].Data)!;
            string streamed = string.Concat(events[..^1].Select(e => JsonNode.Parse(e.Data)!["text"]!.GetValue<string>()));
            Assert.Equal(answer["answer"]!.GetValue<string>(), streamed.Trim());
        }
        else answer = JsonNode.Parse(body)!;
        return new Answer(answer["answer"]!.GetValue<string>(), answer["answer_tokens"]!.GetValue<int>(),
            answer["stop_reason"]!.GetValue<string>(), answer["batch_size"]!.GetValue<int>());
    }

    static async Task<(string Text, int Tokens, string Finish)> ChatAsync(RunningServer server, string context, string question, int maxTokens)
    {
        var response = await server.Http.PostAsync("/v1/chat/completions", Body(new
        {
            messages = new[] { new { role = "system", content = context }, new { role = "user", content = question } },
            max_tokens = maxTokens,
        }));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var completion = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        var choice = completion["choices"]![0]!;
        return (choice["message"]!["content"]!.GetValue<string>(), completion["usage"]!["completion_tokens"]!.GetValue<int>(), choice["finish_reason"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("torch")]
    [InlineData("llamacpp")] // one llama.cpp sequence per question of the batch
    public async Task Waiting_questions_are_decoded_as_one_batch_with_the_answers_each_would_get_alone(string engine)
    {
        await using var server = await RunningServer.StartAsync(tiny, new ServeOptions { MaxBatch = 8 },
            engine == "llamacpp" ? tiny.OpenLlamaCppEngine(sequences: 8) : null);
        string lighthouse = (await server.Service.CreateAsync(TinyService.Passage)).Record.Id;
        string workshop = (await server.Service.CreateAsync(Workshop)).Record.Id;
        // Two memories of different lengths, answer limits from 3 to 16 tokens, streamed and not.
        var asks = new (string Id, string Question, int MaxTokens, bool Stream)[]
        {
            (lighthouse, "Who kept the lighthouse?", 12, false),
            (lighthouse, "What colour was the tower?", 5, true),
            (workshop, "What did Ivo repair?", 9, false),
            (workshop, "Who had two dogs?", 3, true),
            (lighthouse, "What was the cat called?", 16, true),
        };
        const string chatQuestion = "Where did Ivo work?";

        var alone = new List<Answer>();
        foreach (var a in asks) alone.Add(await AskAsync(server, a.Id, a.Question, a.MaxTokens, a.Stream));
        var chatAlone = await ChatAsync(server, Workshop, chatQuestion, 7);
        Assert.All(alone, a => Assert.Equal(1, a.BatchSize));
        Assert.All(alone.Zip(asks), p => Assert.InRange(p.First.Tokens, 0, p.Second.MaxTokens));
        // The comparison means something only if answers have several tokens (some reach their limit).
        Assert.True(alone.Sum(a => a.Tokens) >= asks.Length * 2, $"answers too short to compare: {string.Join(", ", alone.Select(a => a.Tokens))}");
        Assert.Equal(1, server.Service.Queue.LargestBatch);

        var (holder, release) = server.HoldModel();
        var together = asks.Select(a => AskAsync(server, a.Id, a.Question, a.MaxTokens, a.Stream)).ToList();
        var chatTogether = ChatAsync(server, Workshop, chatQuestion, 7);
        await RunningServer.WaitFor(() => server.Service.Queue.Waiting == asks.Length + 1);
        release.Set();
        await holder;

        var batched = await Task.WhenAll(together);
        Assert.All(batched, a => Assert.Equal(asks.Length + 1, a.BatchSize));
        Assert.Equal(alone.Select(a => (a.Text, a.Tokens, a.StopReason)), batched.Select(a => (a.Text, a.Tokens, a.StopReason)));
        Assert.Equal(chatAlone, await chatTogether);
        Assert.Equal(asks.Length + 1, server.Service.Queue.LargestBatch);
        var ready = JsonNode.Parse(await server.Http.GetStringAsync("/ready"))!;
        Assert.Equal(asks.Length + 1, ready["largest_batch"]!.GetValue<int>());
        Assert.Equal(8, ready["max_batch"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_batch_takes_at_most_max_batch_questions_and_a_caller_who_leaves_does_not_hold_up_the_others()
    {
        await using var server = await RunningServer.StartAsync(tiny, new ServeOptions { MaxBatch = 2 });
        string id = (await server.Service.CreateAsync(TinyService.Passage)).Record.Id;
        var expected = await AskAsync(server, id, "Who kept the lighthouse?", 6, stream: false);

        var (holder, release) = server.HoldModel();
        using var leaving = new CancellationTokenSource();
        var gone = AskAsync(server, id, "Who kept the lighthouse?", 6, stream: true, leaving.Token);
        var staying = Enumerable.Range(0, 3).Select(_ => AskAsync(server, id, "Who kept the lighthouse?", 6, stream: false)).ToList();
        await RunningServer.WaitFor(() => server.Service.Queue.Waiting == 4);
        leaving.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => gone);
        await RunningServer.WaitFor(() => server.Service.Queue.GivenUpCallers == 1);
        release.Set();
        await holder;

        var answers = await Task.WhenAll(staying);
        Assert.All(answers, a => Assert.Equal((expected.Text, expected.Tokens), (a.Text, a.Tokens)));
        // 4 queued, max 2 per batch: the leaver's batch ran its partner alone, then the last two ran together.
        Assert.Equal([1, 2, 2], answers.Select(a => a.BatchSize).Order());
        Assert.Equal(2, server.Service.Queue.LargestBatch);
        await RunningServer.WaitFor(() => server.Service.Queue.CancelledJobs == 1);
    }

    [Theory]
    [InlineData("torch")]
    [InlineData("llamacpp")] // the cancelled sequence leaves the llama.cpp batch, the others decode on
    public void A_question_cancelled_while_its_batch_decodes_stops_alone(string engineName)
    {
        using var engine = engineName == "llamacpp" ? tiny.OpenLlamaCppEngine(sequences: 4) : tiny.OpenEngine();
        using var memory = engine.Compress(engine.Tokenize(TinyService.Passage));
        string[] questions = ["Who kept the lighthouse?", "What colour was the tower?", "What was the cat called?", "Where did she row?"];
        var alone = questions.Select(q => engine.Answerer.Answer([engine.Answerer.FromMemory(memory, q, 12)])[0]).ToList();
        int leaver = alone.FindIndex(a => a.AnswerTokens >= 3);
        Assert.True(leaver >= 0, "no answer is long enough to cancel half-way");

        using var cancel = new CancellationTokenSource();
        var pieces = new List<string>();
        var answers = engine.Answerer.Answer(questions.Select((q, i) => i == leaver
            ? engine.Answerer.FromMemory(memory, q, 12) with { Cancel = cancel.Token, OnText = piece => { pieces.Add(piece); cancel.Cancel(); } }
            : engine.Answerer.FromMemory(memory, q, 12)).ToList());

        Assert.Equal(StopReason.Cancelled, answers[leaver].Reason);
        Assert.InRange(answers[leaver].AnswerTokens, 1, alone[leaver].AnswerTokens - 1);
        Assert.Single(pieces);
        for (int i = 0; i < questions.Length; i++)
            if (i != leaver) Assert.Equal((alone[i].Text, alone[i].AnswerTokens, alone[i].Reason), (answers[i].Text, answers[i].AnswerTokens, answers[i].Reason));
    }
}
