using System.Runtime.InteropServices;
using PicSharp.Cli;

namespace PicSharp.Tests.Cli;

public class OpenMpWaitPolicyTests
{
    [DllImport("libc")] static extern int setenv(string name, string value, int overwrite);
    [DllImport("libc")] static extern int unsetenv(string name);

    static readonly string[] Variables = [OpenMpWaitPolicy.PolicyVariable, OpenMpWaitPolicy.SpinVariable];

    static void Clear()
    {
        foreach (string variable in Variables) unsetenv(variable);
    }

    [Fact]
    public void Threads_spin_briefly_on_a_quiet_machine_sleep_on_a_busy_one_and_keep_what_the_user_set()
    {
        if (!OperatingSystem.IsLinux()) return;
        var before = Variables.ToDictionary(v => v, OpenMpWaitPolicy.Current);
        try
        {
            Clear();
            OpenMpWaitPolicy.Choose(othersRunnable: 0);
            Assert.Equal(OpenMpWaitPolicy.QuietSpins.ToString(), OpenMpWaitPolicy.Current(OpenMpWaitPolicy.SpinVariable));
            Assert.Null(OpenMpWaitPolicy.Current(OpenMpWaitPolicy.PolicyVariable));

            foreach (int? others in new int?[] { 1, 3, null })
            {
                Clear();
                OpenMpWaitPolicy.Choose(others);
                Assert.Equal("PASSIVE", OpenMpWaitPolicy.Current(OpenMpWaitPolicy.PolicyVariable));
                Assert.Null(OpenMpWaitPolicy.Current(OpenMpWaitPolicy.SpinVariable));
            }

            Clear();
            setenv(OpenMpWaitPolicy.PolicyVariable, "ACTIVE", 1);
            OpenMpWaitPolicy.Choose(othersRunnable: 3);
            Assert.Equal("ACTIVE", OpenMpWaitPolicy.Current(OpenMpWaitPolicy.PolicyVariable));
            Assert.Null(OpenMpWaitPolicy.Current(OpenMpWaitPolicy.SpinVariable));

            Clear();
            setenv(OpenMpWaitPolicy.SpinVariable, "7", 1);
            OpenMpWaitPolicy.Choose(othersRunnable: 0);
            Assert.Equal("7", OpenMpWaitPolicy.Current(OpenMpWaitPolicy.SpinVariable));
            Assert.Contains("GOMP_SPINCOUNT=7", OpenMpWaitPolicy.Description);
        }
        finally
        {
            Clear();
            foreach (var (variable, value) in before)
                if (value is not null) setenv(variable, value, 1);
        }
    }
}
