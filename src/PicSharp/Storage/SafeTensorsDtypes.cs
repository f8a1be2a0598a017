using static TorchSharp.torch;

namespace PicSharp.Storage;

/// <summary>The safetensors dtype names and their TorchSharp element types.</summary>
public static class SafeTensorsDtypes
{
    static readonly (string Name, ScalarType Type, int Size)[] All =
    [
        ("F64", ScalarType.Float64, 8), ("F32", ScalarType.Float32, 4), ("F16", ScalarType.Float16, 2),
        ("BF16", ScalarType.BFloat16, 2), ("I64", ScalarType.Int64, 8), ("I32", ScalarType.Int32, 4),
        ("I16", ScalarType.Int16, 2), ("I8", ScalarType.Int8, 1), ("U8", ScalarType.Byte, 1), ("BOOL", ScalarType.Bool, 1),
    ];

    public static IEnumerable<string> Names => All.Select(d => d.Name);

    public static bool TryParse(string name, out ScalarType type, out int size)
    {
        foreach (var d in All)
            if (d.Name == name) { (type, size) = (d.Type, d.Size); return true; }
        (type, size) = (default, 0);
        return false;
    }

    public static string Name(ScalarType type) => All.FirstOrDefault(d => d.Type == type).Name
        ?? throw new ArgumentException($"dtype {type} cannot be stored in safetensors; supported: {string.Join(", ", Names)}");
}
