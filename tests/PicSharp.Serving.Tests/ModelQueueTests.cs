using Microsoft.Extensions.Logging.Abstractions;

namespace PicSharp.Serving.Tests;

/// <summary>How the model queue groups batched work: neighbours only, at most max-batch, in order.</summary>
public sealed class ModelQueueTests
{
    [Fact]
    public async Task Batches_join_waiting_neighbours_up_to_the_limit_and_never_overtake_other_work()
    {
        using var queue = new ModelQueue(capacity: 16, NullLogger.Instance, maxBatch: 2);
        var ran = new List<string>();
        Func<IReadOnlyList<(string Item, CancellationToken Cancel)>, IReadOnlyList<string>> work = items =>
        {
            ran.Add(string.Join("+", items.Select(i => i.Item)));
            return items.Select(i => i.Item.ToLowerInvariant()).ToList();
        };
        var (hold, release) = RunningServer.Hold(queue);
        var first = new[] { "A", "B", "C" }.Select(item => queue.RunBatched("ask", work, item)).ToList();
        var plain = queue.Run("plain", _ => { ran.Add("plain"); return 0; });
        var later = new[] { "D", "E" }.Select(item => queue.RunBatched("ask", work, item)).ToList();
        Assert.Equal(6, queue.Waiting);
        release.Set();
        await hold;
        await plain;

        var answers = await Task.WhenAll(first.Concat(later));
        Assert.Equal(["A+B", "C", "plain", "D+E"], ran);
        Assert.Equal(["a", "b", "c", "d", "e"], answers.Select(a => a.Result));
        Assert.Equal([2, 2, 1, 2, 2], answers.Select(a => a.BatchSize));
        Assert.Equal((3, 5, 2), (queue.Batches, queue.BatchedJobs, queue.LargestBatch));
    }

    [Fact]
    public async Task A_failing_batch_fails_each_of_its_callers_and_the_queue_goes_on()
    {
        using var queue = new ModelQueue(capacity: 4, NullLogger.Instance, maxBatch: 4);
        var (hold, release) = RunningServer.Hold(queue);
        Func<IReadOnlyList<(int Item, CancellationToken Cancel)>, IReadOnlyList<int>> broken = _ => throw new InvalidDataException("broken weights");
        var failing = Enumerable.Range(0, 2).Select(i => queue.RunBatched("ask", broken, i)).ToList();
        release.Set();
        await hold;
        foreach (var call in failing) Assert.Equal("broken weights", (await Assert.ThrowsAsync<InvalidDataException>(() => call)).Message);
        Assert.Equal(7, (await queue.Run("after", _ => 7)).Result);
    }
}
