using System.Runtime.InteropServices;

namespace PicSharp.Cli.Commands;

/// <summary>
/// Ctrl+C and SIGTERM as one cancellation token, so a training command stops cleanly with a checkpoint on either
/// (background jobs ignore SIGINT, so `kill` must work too).
/// </summary>
sealed class StopSignal : IDisposable
{
    readonly CancellationTokenSource source = new();
    readonly PosixSignalRegistration terminate;

    public StopSignal()
    {
        Console.CancelKeyPress += OnCancelKey;
        terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, signal => { signal.Cancel = true; source.Cancel(); });
    }

    public CancellationToken Token => source.Token;

    void OnCancelKey(object? sender, ConsoleCancelEventArgs e)
    {
        e.Cancel = true;
        source.Cancel();
    }

    public void Dispose()
    {
        Console.CancelKeyPress -= OnCancelKey;
        terminate.Dispose();
        source.Dispose();
    }
}
