using System.Runtime.InteropServices;

namespace PicSharp.Cli;

/// <summary>
/// torch's CPU threads (libgomp) spin while they wait for each other. When another process holds a core, a spinning
/// thread keeps losing it and every operation waits for it: `pic demo` took 13-42 s instead of 1 s beside a
/// one-thread training run (docs/perf.md). A passive wait policy lets waiting threads sleep. libgomp reads it from the
/// process environment once, when torch's native library loads, so it is set natively (.NET's own environment is a
/// managed copy on Unix) before the first torch call. A value the user set is kept.
/// </summary>
static class OpenMpWaitPolicy
{
    public const string Variable = "OMP_WAIT_POLICY";

    public static void PreferPassive()
    {
        if (!(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS()) || Current() is not null) return;
        if (setenv(Variable, "PASSIVE", overwrite: 0) != 0)
            Console.Error.WriteLine($"pic: could not set {Variable}=PASSIVE (errno {Marshal.GetLastPInvokeError()}); torch threads will spin");
    }

    /// <summary>The native environment's value (what libgomp will read), or null.</summary>
    public static string? Current() => Marshal.PtrToStringUTF8(getenv(Variable));

    // Strings marshal as UTF-8 on Unix.
    [DllImport("libc", SetLastError = true)]
    static extern int setenv(string name, string value, int overwrite);

    [DllImport("libc")]
    static extern nint getenv(string name);
}
