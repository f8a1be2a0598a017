using System.ComponentModel;
using System.Diagnostics;

namespace PicSharp.Data;

/// <summary>A required program is not installed, or it ran and failed; the message says what to do.</summary>
/// <param name="exitCode">the program's exit code when it ran and failed; null when it could not be started.</param>
public sealed class ExternalToolException(string message, int? exitCode = null) : Exception(message)
{
    public int? ExitCode { get; } = exitCode;
}

/// <summary>Runs a package client (npm, apt-get, dpkg, tar) as a child process and captures its output.</summary>
public static class ExternalTool
{
    /// <summary>What to install when a program is missing on a Debian-like system.</summary>
    static readonly Dictionary<string, string> InstallHints = new()
    {
        ["npm"] = "install Node.js and npm (e.g. `apt-get install npm`)",
        ["apt-get"] = "apt-get is needed to download Debian packages; use a Debian or Ubuntu system",
        ["dpkg"] = "dpkg is needed to unpack .deb files (`apt-get install dpkg`)",
        ["tar"] = "install tar (`apt-get install tar`)",
    };

    /// <summary>Runs `program args` in `workingDirectory`; returns stdout, or throws naming the program and its stderr.</summary>
    public static string Run(string program, IReadOnlyList<string> args, string workingDirectory, string purpose)
    {
        var start = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in args) start.ArgumentList.Add(arg);

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new ExternalToolException($"could not start `{program}`");
        }
        catch (Win32Exception)
        {
            string hint = InstallHints.GetValueOrDefault(program, $"install `{program}`");
            throw new ExternalToolException($"`{program}` was not found; it is needed to {purpose}: {hint}");
        }
        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync();
            string stdout = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
                throw new ExternalToolException(
                    $"`{program} {string.Join(' ', args)}` failed (exit code {process.ExitCode}) while trying to {purpose}:\n"
                    + stderr.Result.Trim(), process.ExitCode);
            return stdout;
        }
    }
}
