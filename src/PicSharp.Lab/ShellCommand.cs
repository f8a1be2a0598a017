using System.Diagnostics;

namespace PicSharp.Lab;

/// <summary>A drill's outside step (restart a database or a broker) as a bash command line the operator gives.</summary>
static class ShellCommand
{
    /// <summary>Runs <paramref name="command"/> with bash -c and waits for it; a non-zero exit throws with its output.</summary>
    /// <param name="what">names the command in the error.</param>
    public static async Task RunAsync(string command, string what, CancellationToken cancel)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardError = true, RedirectStandardOutput = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(command);
        using var process = Process.Start(start) ?? throw new IOException($"could not start bash for {what}");
        var output = process.StandardOutput.ReadToEndAsync(cancel);
        string errors = await process.StandardError.ReadToEndAsync(cancel);
        await process.WaitForExitAsync(cancel);
        if (process.ExitCode != 0) throw new IOException($"{what} exited with {process.ExitCode}: {errors}{await output}");
    }
}
