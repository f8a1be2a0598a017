namespace PicSharp.Serving.Http;

/// <summary>A request the service cannot take (a user error of the HTTP layer), with the status code to answer and a message naming the problem.</summary>
public sealed class HttpProblem(int status, string message) : InvalidInputException(message)
{
    public int Status { get; } = status;
}
