using System.Text.Json.Nodes;

namespace PicSharp.CompressorTraining;

/// <summary>
/// Held-out reconstruction losses (nats/token) from `pic memory-bounds --compressor --json`: no memory (the floor), the
/// window's own memory, the next window's memory (the control), and the text itself as memory (the ceiling).
/// </summary>
public sealed record AutoencodingBounds(double Floor, double Own, double OtherWindow, double Ceiling)
{
    /// <summary>What the memory carries of its own window beyond any memory: control loss − own loss.</summary>
    public double Gain => OtherWindow - Own;

    /// <summary>Reads a memory-bounds JSON file that scored a compressor and its control.</summary>
    public static AutoencodingBounds Read(string path)
    {
        var root = JsonNode.Parse(File.ReadAllText(path)) ?? throw new InvalidDataException($"{path}: empty JSON");
        double Loss(JsonNode? node, string what) => node?["loss"]?.GetValue<double>()
            ?? throw new InvalidDataException($"{path}: no {what} loss (not a `pic memory-bounds --compressor --json` file)");
        var compressor = root["compressor"];
        return new AutoencodingBounds(Loss(root["floor"], "floor"), Loss(compressor, "compressor"),
            Loss(compressor?["other_window"], "other-window"), Loss(root["ceiling"], "ceiling"));
    }
}
