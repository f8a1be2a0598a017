using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace PicSharp.Serving;

/// <summary>
/// The one way to the model: jobs run in order on a dedicated thread (a TorchSharp model is not safe for concurrent
/// forwards, and torch's no-grad state is per thread). At most <c>capacity</c> jobs wait; more are refused at once
/// with a retry estimate instead of piling up. A job whose caller has given up is skipped, and a running job sees its
/// caller's cancellation token. Batched jobs (<see cref="RunBatched"/>) that wait next to each other with the same
/// work run together, up to <c>maxBatch</c> at a time: questions that arrive while the model is busy are answered as
/// one decoding batch. <see cref="Close"/> refuses new work and lets the waiting jobs finish.
/// </summary>
public sealed class ModelQueue : IDisposable
{
    readonly Channel<Job> jobs;
    readonly int capacity;
    readonly int maxBatch;
    readonly Thread worker;
    readonly ILogger logger;
    readonly TaskCompletionSource drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    int waiting;
    long cancelledJobs;
    long givenUpCallers;
    long batches;
    long batchedJobs;
    int largestBatch;
    long recentJobTicks = TimeSpan.FromSeconds(1).Ticks; // running mean of time per job, for Retry-After

    abstract class Job
    {
        public readonly long Enqueued = Stopwatch.GetTimestamp();
        public required string Name { get; init; }
        public required CancellationToken Cancel { get; init; }
        public CancellationTokenRegistration GivingUp { get; set; }
        /// <summary>Jobs with equal keys may run as one batch; null: this job runs alone.</summary>
        public virtual object? BatchKey => null;
        /// <summary>Runs this job with the others of its batch (<paramref name="group"/>[0] is this job); returns how many were cancelled.</summary>
        public abstract int Run(IReadOnlyList<Job> group, long started);
    }

    sealed class Job<T> : Job
    {
        public required Func<CancellationToken, T> Work { get; init; }
        public readonly TaskCompletionSource<Queued<T>> Result = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override int Run(IReadOnlyList<Job> group, long started)
        {
            try
            {
                Cancel.ThrowIfCancellationRequested();
                var value = Work(Cancel);
                Result.SetResult(new Queued<T>(value, Stopwatch.GetElapsedTime(Enqueued, started), Stopwatch.GetElapsedTime(started)));
            }
            catch (OperationCanceledException) when (Cancel.IsCancellationRequested) { Result.SetCanceled(Cancel); return 1; }
            catch (Exception e) { Result.SetException(e); }
            return 0;
        }
    }

    sealed class BatchedJob<TItem, T> : Job
    {
        public required TItem Item { get; init; }
        public required Func<IReadOnlyList<(TItem Item, CancellationToken Cancel)>, IReadOnlyList<T>> Work { get; init; }
        public readonly TaskCompletionSource<Queued<T>> Result = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public override object BatchKey => Work;

        // Callers gone before the start are left out; one who leaves during the run gets its cancellation, the rest
        // their results (the work stops a cancelled item's row, not the batch). A failure of the work fails them all.
        public override int Run(IReadOnlyList<Job> group, long started)
        {
            var members = group.Cast<BatchedJob<TItem, T>>().ToList();
            foreach (var gone in members.Where(m => m.Cancel.IsCancellationRequested)) gone.Result.SetCanceled(gone.Cancel);
            var running = members.Where(m => !m.Cancel.IsCancellationRequested && !m.Result.Task.IsCompleted).ToList();
            if (running.Count == 0) return members.Count;
            try
            {
                var values = Work(running.Select(m => (m.Item, m.Cancel)).ToList());
                var took = Stopwatch.GetElapsedTime(started);
                for (int i = 0; i < running.Count; i++)
                    if (running[i].Cancel.IsCancellationRequested) running[i].Result.SetCanceled(running[i].Cancel);
                    else running[i].Result.SetResult(new Queued<T>(values[i], Stopwatch.GetElapsedTime(running[i].Enqueued, started), took, running.Count));
            }
            catch (Exception e)
            {
                foreach (var m in running)
                    if (m.Cancel.IsCancellationRequested) m.Result.TrySetCanceled(m.Cancel);
                    else m.Result.TrySetException(e);
            }
            return members.Count(m => m.Result.Task.IsCanceled);
        }
    }

    public ModelQueue(int capacity, ILogger logger, Action? onWorkerStart = null, int maxBatch = 1)
    {
        if (capacity < 1) throw new ArgumentException($"the queue must hold at least 1 job, got {capacity}");
        if (maxBatch < 1) throw new ArgumentException($"a batch must take at least 1 job, got {maxBatch}");
        this.capacity = capacity;
        this.maxBatch = maxBatch;
        this.logger = logger;
        jobs = Channel.CreateBounded<Job>(new BoundedChannelOptions(capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        worker = new Thread(() => { onWorkerStart?.Invoke(); Work(); }) { Name = "pic model queue", IsBackground = true };
        worker.Start();
    }

    public int Capacity => capacity;
    /// <summary>Most batched jobs run together.</summary>
    public int MaxBatch => maxBatch;
    /// <summary>Runs of batched work, and the jobs they served (their ratio is the mean batch size).</summary>
    public long Batches => Interlocked.Read(ref batches);
    public long BatchedJobs => Interlocked.Read(ref batchedJobs);
    /// <summary>The most jobs one batch has served so far.</summary>
    public int LargestBatch => Volatile.Read(ref largestBatch);
    /// <summary>Jobs accepted and not yet started.</summary>
    public int Waiting => Volatile.Read(ref waiting);
    public bool IsClosed { get; private set; }
    /// <summary>Jobs skipped or stopped because their caller gave up (client gone, request timed out).</summary>
    public long CancelledJobs => Interlocked.Read(ref cancelledJobs);
    /// <summary>Callers whose cancellation fired while their job was queued or running (seen at once, unlike
    /// <see cref="CancelledJobs"/>, which counts when the worker reaches the job).</summary>
    public long GivenUpCallers => Interlocked.Read(ref givenUpCallers);
    /// <summary>Completes when the queue is closed and every accepted job has finished.</summary>
    public Task Drained => drained.Task;

    /// <summary>How long a new job would wait, judged from recent job times.</summary>
    public TimeSpan RetryAfter => TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerSecond, Interlocked.Read(ref recentJobTicks) * (Waiting + 1)));

    /// <summary>Queues the work or throws <see cref="QueueFullException"/> / <see cref="QueueClosedException"/> at once.</summary>
    public Task<Queued<T>> Run<T>(string name, Func<CancellationToken, T> work, CancellationToken cancel = default)
    {
        var job = new Job<T> { Name = name, Work = work, Cancel = cancel };
        Enqueue(job);
        return job.Result.Task;
    }

    /// <summary>
    /// Queues one item of batched work: items posted with the same <paramref name="work"/> delegate that wait next
    /// to each other run as one call of it (at most <see cref="MaxBatch"/> items), which returns one result per item
    /// in order. The call gets each item's cancellation token and should stop a cancelled item without failing the
    /// others. Throws like <see cref="Run{T}"/> when the queue is full or closed.
    /// </summary>
    public Task<Queued<T>> RunBatched<TItem, T>(string name, Func<IReadOnlyList<(TItem Item, CancellationToken Cancel)>, IReadOnlyList<T>> work,
        TItem item, CancellationToken cancel = default)
    {
        var job = new BatchedJob<TItem, T> { Name = name, Work = work, Item = item, Cancel = cancel };
        Enqueue(job);
        return job.Result.Task;
    }

    void Enqueue(Job job)
    {
        Interlocked.Increment(ref waiting);
        job.GivingUp = job.Cancel.Register(() => Interlocked.Increment(ref givenUpCallers));
        if (!jobs.Writer.TryWrite(job))
        {
            job.GivingUp.Dispose();
            Interlocked.Decrement(ref waiting);
            if (IsClosed) throw new QueueClosedException();
            throw new QueueFullException(capacity, RetryAfter);
        }
    }

    void Work()
    {
        var reader = jobs.Reader;
        while (reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
            while (reader.TryRead(out var job))
            {
                var group = new List<Job> { job };
                // Only neighbours join: a batch never overtakes a job queued before it.
                if (job.BatchKey is { } key)
                    while (group.Count < maxBatch && reader.TryPeek(out var next) && key.Equals(next.BatchKey) && reader.TryRead(out next))
                        group.Add(next);
                Interlocked.Add(ref waiting, -group.Count);
                long start = Stopwatch.GetTimestamp();
                int cancelled = job.Run(group, start);
                foreach (var member in group) member.GivingUp.Dispose();
                Interlocked.Add(ref cancelledJobs, cancelled);
                if (job.BatchKey is not null)
                {
                    Interlocked.Increment(ref batches);
                    Interlocked.Add(ref batchedJobs, group.Count);
                    if (group.Count > largestBatch) Volatile.Write(ref largestBatch, group.Count);
                }
                var took = Stopwatch.GetElapsedTime(start);
                long previous = Interlocked.Read(ref recentJobTicks);
                Interlocked.Exchange(ref recentJobTicks, (previous * 7 + took.Ticks / group.Count) / 8);
                logger.LogDebug("model job {Job} x{Batch} waited {QueueMs:F0} ms, ran {ModelMs:F0} ms", job.Name, group.Count,
                    Stopwatch.GetElapsedTime(job.Enqueued, start).TotalMilliseconds, took.TotalMilliseconds);
            }
        drained.TrySetResult();
    }

    /// <summary>Takes no new jobs; those already accepted still run.</summary>
    public void Close()
    {
        IsClosed = true;
        jobs.Writer.TryComplete();
    }

    public void Dispose()
    {
        Close();
        worker.Join();
    }
}
