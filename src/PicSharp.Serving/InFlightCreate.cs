namespace PicSharp.Serving;

/// <summary>
/// One create (or append) of a memory that is being compressed, shared by every caller who asks for the same memory
/// meanwhile: they all get its result and its progress, and the work is cancelled only when the last of them leaves.
/// </summary>
sealed class InFlightCreate
{
    readonly Lock gate = new();
    readonly TaskCompletionSource<MemoryResult> done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    Action<int, int>? progress;
    int callers;
    public readonly CancellationTokenSource Cancel = new();

    public void Report(int doneTokens, int total)
    {
        Action<int, int>? listeners;
        lock (gate) listeners = progress;
        listeners?.Invoke(doneTokens, total);
    }

    public async Task CompleteAsync(Task<MemoryResult> work)
    {
        try { done.TrySetResult(await work); }
        catch (OperationCanceledException e) { done.TrySetCanceled(e.CancellationToken); }
        catch (Exception e) { done.TrySetException(e); }
    }

    /// <summary>One more caller waits for this create; its leaving cancels the work only if it was the last.</summary>
    public async Task<MemoryResult> JoinAsync(Action<int, int>? onProgress, CancellationToken cancel)
    {
        lock (gate) { callers++; progress += onProgress; }
        await using var leaving = cancel.Register(() =>
        {
            bool last;
            lock (gate) last = --callers == 0;
            if (last) Cancel.Cancel();
        });
        return await done.Task.WaitAsync(cancel);
    }
}
