using System.Runtime.InteropServices;
using PicSharp.Cli;

namespace PicSharp.Tests.Cli;

public class OpenMpWaitPolicyTests
{
    [DllImport("libc")] static extern int setenv(string name, string value, int overwrite);
    [DllImport("libc")] static extern int unsetenv(string name);

    [Fact]
    public void The_native_environment_gets_a_passive_policy_unless_the_user_chose_one()
    {
        if (!OperatingSystem.IsLinux()) return;
        string? before = OpenMpWaitPolicy.Current();
        try
        {
            unsetenv(OpenMpWaitPolicy.Variable);
            OpenMpWaitPolicy.PreferPassive();
            Assert.Equal("PASSIVE", OpenMpWaitPolicy.Current());

            setenv(OpenMpWaitPolicy.Variable, "ACTIVE", 1);
            OpenMpWaitPolicy.PreferPassive();
            Assert.Equal("ACTIVE", OpenMpWaitPolicy.Current());
        }
        finally
        {
            if (before is null) unsetenv(OpenMpWaitPolicy.Variable);
            else setenv(OpenMpWaitPolicy.Variable, before, 1);
        }
    }
}
