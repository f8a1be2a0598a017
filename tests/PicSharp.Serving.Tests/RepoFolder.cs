using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace PicSharp.Serving.Tests;

/// <summary>The clone the tests run from: its scripts and the CLI's build output, and free loopback ports for the
/// servers the tests start.</summary>
public static class RepoFolder
{
    public static string Root
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "PicSharp.slnx"))) dir = dir.Parent;
            return dir?.FullName ?? throw new DirectoryNotFoundException($"no PicSharp.slnx above {AppContext.BaseDirectory}");
        }
    }

    /// <summary>The CLI's own build output: its pic.deps.json describes the files beside it (the test folder's copy does not).</summary>
    public static string PicDll()
    {
        string configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // bin/<configuration>/net10.0
        string dll = Path.Combine(Root, "src", "PicSharp.Cli", "bin", configuration, "net10.0", "pic.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: build the solution first");
        return dll;
    }

    /// <summary>Runs scripts/<paramref name="script"/>; a non-zero exit fails with what it printed.</summary>
    public static void RunScript(string script, params string[] args)
    {
        var start = new ProcessStartInfo(Path.Combine(Root, "scripts", script)) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        string errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"scripts/{script} {string.Join(' ', args)} exited {process.ExitCode}: {errors}{output.Result}");
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
