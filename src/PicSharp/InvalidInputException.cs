namespace PicSharp;

/// <summary>
/// The one user error: input that was checked and refused (a bad option, an empty or over-long text, a question that
/// does not fit). The CLI prints its message as one line and exits 1; HTTP answers 4xx. Any other exception is a bug
/// and is reported as one (exit 2 with a trace; HTTP 500 with a request id).
/// </summary>
public class InvalidInputException(string message) : Exception(message);
