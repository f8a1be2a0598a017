using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace PicSharp.Serving;

/// <summary>
/// The one way to the model: jobs run one at a time, in order, on a dedicated thread (a TorchSharp model is not safe
/// for concurrent forwards, and torch's no-grad state is per thread). At most <c>capacity</c> jobs wait; more are refused
/// at once with a retry estimate instead of piling up. A job whose caller has given up is skipped, and a running job
/// sees its caller's cancellation token. <see cref="Close"/> refuses new work and lets the waiting jobs finish.
/// </summary>
public sealed class ModelQueue : IDisposable
{
    readonly Channel<Job> jobs;
    readonly int capacity;
    readonly Thread worker;
    readonly ILogger logger;
    readonly TaskCompletionSource drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    int waiting;
    long cancelledJobs;
    long givenUpCallers;
    long recentJobTicks = TimeSpan.FromSeconds(1).Ticks; // running mean of job time, for Retry-After

    abstract class Job
    {
        public readonly long Enqueued = Stopwatch.GetTimestamp();
        public required string Name { get; init; }
        public required CancellationToken Cancel { get; init; }
        public bool Cancelled { get; protected set; }
        public CancellationTokenRegistration GivingUp { get; set; }
        public abstract void Run(TimeSpan queueWait);
    }

    sealed class Job<T> : Job
    {
        public required Func<CancellationToken, T> Work { get; init; }
        public readonly TaskCompletionSource<Queued<T>> Result = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override void Run(TimeSpan queueWait)
        {
            long start = Stopwatch.GetTimestamp();
            try
            {
                Cancel.ThrowIfCancellationRequested();
                var value = Work(Cancel);
                Result.SetResult(new Queued<T>(value, queueWait, Stopwatch.GetElapsedTime(start)));
            }
            catch (OperationCanceledException) when (Cancel.IsCancellationRequested) { Result.SetCanceled(Cancel); Cancelled = true; }
            catch (Exception e) { Result.SetException(e); }
        }
    }

    public ModelQueue(int capacity, ILogger logger, Action? onWorkerStart = null)
    {
        if (capacity < 1) throw new ArgumentException($"the queue must hold at least 1 job, got {capacity}");
        this.capacity = capacity;
        this.logger = logger;
        jobs = Channel.CreateBounded<Job>(new BoundedChannelOptions(capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        worker = new Thread(() => { onWorkerStart?.Invoke(); Work(); }) { Name = "pic model queue", IsBackground = true };
        worker.Start();
    }

    public int Capacity => capacity;
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
        Interlocked.Increment(ref waiting);
        job.GivingUp = cancel.Register(() => Interlocked.Increment(ref givenUpCallers));
        if (!jobs.Writer.TryWrite(job))
        {
            job.GivingUp.Dispose();
            Interlocked.Decrement(ref waiting);
            if (IsClosed) throw new QueueClosedException();
            throw new QueueFullException(capacity, RetryAfter);
        }
        return job.Result.Task;
    }

    void Work()
    {
        var reader = jobs.Reader;
        while (reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
            while (reader.TryRead(out var job))
            {
                Interlocked.Decrement(ref waiting);
                var queueWait = Stopwatch.GetElapsedTime(job.Enqueued);
                long start = Stopwatch.GetTimestamp();
                job.Run(queueWait);
                job.GivingUp.Dispose();
                if (job.Cancelled) Interlocked.Increment(ref cancelledJobs);
                var took = Stopwatch.GetElapsedTime(start);
                long previous = Interlocked.Read(ref recentJobTicks);
                Interlocked.Exchange(ref recentJobTicks, (previous * 7 + took.Ticks) / 8);
                logger.LogDebug("model job {Job} waited {QueueMs:F0} ms, ran {ModelMs:F0} ms", job.Name, queueWait.TotalMilliseconds, took.TotalMilliseconds);
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
