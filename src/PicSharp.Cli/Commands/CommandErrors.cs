using System.Text.Json;
using PicSharp.Data;
using PicSharp.Storage;
using PicSharp.Modeling;
using PicSharp.Tokenization;
using PicSharp.Training;

namespace PicSharp.Cli.Commands;

/// <summary>
/// One rule for every command: a problem with the user's arguments, files or tools ends the command with one line
/// naming it and exit code 1; any other exception is a bug and keeps its stack trace.
/// </summary>
static class CommandErrors
{
    public static bool IsUserError(Exception e) => e is IOException or UnauthorizedAccessException or InvalidDataException
        or ArgumentException or JsonException or KeyNotFoundException or ModelConfigException or TokenizerFormatException
        or SafeTensorsException or TrainingException or ExternalToolException or ChecksumMismatchException
        or PicSharp.Compression.ForeignMemoryException or PicSharp.Gguf.GgufFormatException;

    /// <summary>Runs a command body and returns its exit code, or 1 after <see cref="Report"/> for a user error.</summary>
    public static int Run(string command, Func<int> body)
    {
        try { return body(); }
        catch (Exception e) when (IsUserError(e)) { return Report(command, e); }
    }

    /// <summary>Writes "<paramref name="command"/>: message" to standard error and returns the exit code 1.</summary>
    public static int Report(string command, Exception e)
    {
        Console.Out.Flush();
        // Argument exceptions append the parameter name and value, which mean nothing to a command-line user.
        string message = e is ArgumentException ? e.Message.Split(" (Parameter '")[0] : e.Message;
        Console.Error.WriteLine($"{command}: {message}");
        return 1;
    }
}
