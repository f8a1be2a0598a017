using System.Runtime.InteropServices;

namespace PicSharp.Cli;

/// <summary>
/// How long torch's and llama.cpp's CPU threads (one libgomp in the process: torch's, which llama.cpp's OpenMP build
/// binds to) spin at a barrier before they sleep. Neither default fits both machines `pic` runs on:
/// - beside another busy process, a spinning thread keeps losing its core and every operation waits for it: `pic demo`
///   took 13-42 s instead of 1 s beside a one-thread training run with libgomp's default spin (~3 ms), and 4.8-5.3 s
///   against 1.8-1.9 s passive beside one busy thread with a 20,000-spin wait (docs/perf.md);
/// - on a quiet machine, a thread that sleeps at every barrier is woken dozens of times per token: llama.cpp decoded
///   picsharp-base at 190-230 tokens/s passive and 760-1,310 with a 20,000-spin wait (~0.2 ms).
/// So it is chosen once, at start, from what else is running: passive when other tasks are runnable, a 20,000-spin
/// wait otherwise. A long-running `pic serve` keeps its choice; set OMP_WAIT_POLICY or GOMP_SPINCOUNT to decide it
/// yourself (a value the user set is kept). libgomp reads both from the process environment once, when torch's native
/// library loads, so they are set natively (.NET's own environment is a managed copy on Unix) before the first torch call.
/// </summary>
static class OpenMpWaitPolicy
{
    public const string PolicyVariable = "OMP_WAIT_POLICY";
    public const string SpinVariable = "GOMP_SPINCOUNT";
    /// <summary>libgomp's estimate is ~100,000 spins per millisecond; measured, 20,000 decoded as fast as 1,000,000.</summary>
    public const int QuietSpins = 20_000;

    /// <summary>What was chosen, in words, for benchmark headers.</summary>
    public static string Description { get; private set; } = "libgomp's defaults";

    /// <summary>Chooses from the tasks runnable now (call it before anything loads torch's native library).</summary>
    public static void Choose() => Choose(OtherRunnableTasks());

    /// <param name="othersRunnable">tasks runnable besides this process's own starting thread; null where unknown
    /// (then threads sleep: the safe side).</param>
    public static void Choose(int? othersRunnable)
    {
        if (!(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())) return;
        foreach (string variable in new[] { PolicyVariable, SpinVariable })
            if (Current(variable) is { } value)
            {
                Description = $"{variable}={value}, as set";
                return;
            }
        bool quiet = othersRunnable == 0;
        var (name, setting) = quiet ? (SpinVariable, QuietSpins.ToString()) : (PolicyVariable, "PASSIVE");
        if (setenv(name, setting, overwrite: 0) != 0)
        {
            Console.Error.WriteLine($"pic: could not set {name}={setting} (errno {Marshal.GetLastPInvokeError()}); CPU threads keep libgomp's default wait");
            return;
        }
        Description = quiet ? $"threads spin {QuietSpins:N0} times at a barrier (the machine was quiet at start)"
            : $"threads sleep at a barrier ({(othersRunnable is null ? "load unknown" : "other tasks were running at start")})";
    }

    /// <summary>The native environment's value (what libgomp will read), or null.</summary>
    public static string? Current(string variable) => Marshal.PtrToStringUTF8(getenv(variable));

    // /proc/stat's procs_running counts runnable tasks, this process's starting thread among them; the least of a few
    // samples, so that a task that happens to wake (the runtime's own start-up threads among them) is not a busy machine.
    static int? OtherRunnableTasks()
    {
        const string stat = "/proc/stat";
        if (!File.Exists(stat)) return null;
        int? least = null;
        for (int sample = 0; sample < 3; sample++)
        {
            if (sample > 0) Thread.Sleep(5);
            string? line = File.ReadLines(stat).FirstOrDefault(l => l.StartsWith("procs_running "));
            if (line is null || !int.TryParse(line["procs_running ".Length..], out int running)) return null;
            least = Math.Min(least ?? running, running);
        }
        return Math.Max(0, least!.Value - 1);
    }

    // Strings marshal as UTF-8 on Unix.
    [DllImport("libc", SetLastError = true)]
    static extern int setenv(string name, string value, int overwrite);

    [DllImport("libc")]
    static extern nint getenv(string name);
}
