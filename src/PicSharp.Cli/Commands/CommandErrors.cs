using System.Text.Json;
using PicSharp.Data;
using PicSharp.Storage;
using PicSharp.Modeling;
using PicSharp.Tokenization;
using PicSharp.Training;

namespace PicSharp.Cli.Commands;

/// <summary>
/// One rule for every command: input that was checked and refused (<see cref="InvalidInputException"/>) or a problem
/// with the user's files or tools ends the command with one line naming it and exit code 1. Any other exception
/// (an ArgumentException or KeyNotFoundException from inside the code included) is a bug: it says so, prints its
/// stack trace and exits with 2.
/// </summary>
static class CommandErrors
{
    public const int UserErrorExitCode = 1;
    public const int BugExitCode = 2;

    public static bool IsUserError(Exception e) => e is InvalidInputException or IOException or UnauthorizedAccessException
        or InvalidDataException or JsonException or ModelConfigException or TokenizerFormatException or SafeTensorsException
        or TrainingException or ExternalToolException or ChecksumMismatchException or PicSharp.Compression.ForeignMemoryException
        or PicSharp.Gguf.GgufFormatException;

    /// <summary>Runs a command body and returns its exit code, or the code <see cref="Report"/> gives its exception.</summary>
    public static int Run(string command, Func<int> body)
    {
        try { return body(); }
        catch (Exception e) { return Report(command, e); }
    }

    /// <summary><see cref="Run"/> for a command whose body awaits (the broker's client is asynchronous).</summary>
    public static async Task<int> RunAsync(string command, Func<Task<int>> body)
    {
        try { return await body(); }
        catch (Exception e) { return Report(command, e); }
    }

    /// <summary>Writes "<paramref name="command"/>: message" to standard error and returns 1 for a user error; for a
    /// bug, an internal-error line and the stack trace, and returns 2.</summary>
    public static int Report(string command, Exception e)
    {
        Console.Out.Flush();
        if (IsUserError(e))
        {
            Console.Error.WriteLine($"{command}: {e.Message}");
            return UserErrorExitCode;
        }
        Console.Error.WriteLine($"{command}: internal error (a bug in pic, not a problem with your input; please report it with the trace below): {e.GetType().Name}: {e.Message}");
        Console.Error.WriteLine(e);
        return BugExitCode;
    }
}
