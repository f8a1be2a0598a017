namespace PicSharp.Serving.Tests;

/// <summary>A strict reader of an event stream: every event is `event:`/`data:` lines ended by a blank line.</summary>
static class ServerSentEvents
{
    public sealed record Event(string? Name, string Data);

    public static Event[] Parse(string stream)
    {
        Assert.EndsWith("\n\n", stream);
        return stream[..^2].Split("\n\n").Select(block =>
        {
            string? name = null, data = null;
            foreach (var line in block.Split('\n'))
                if (line.StartsWith("event: ")) name = line["event: ".Length..];
                else if (line.StartsWith("data: ")) data = line["data: ".Length..];
                else Assert.Fail($"unexpected line in event stream: '{line}'");
            return new Event(name, data ?? throw new Xunit.Sdk.XunitException($"event without data: '{block}'"));
        }).ToArray();
    }
}
