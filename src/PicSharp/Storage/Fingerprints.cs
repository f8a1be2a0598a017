using System.Security.Cryptography;
using System.Text;
using static TorchSharp.torch;

namespace PicSharp.Storage;

/// <summary>Short content ids: hex SHA-256 over a text description and named tensors (name, dtype, shape, bytes).</summary>
static class Fingerprints
{
    public static string Of(string description, IEnumerable<(string Name, Tensor Tensor)> tensors)
    {
        using var scope = NewDisposeScope();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes(description));
        foreach (var (name, tensor) in tensors.OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            hash.AppendData(Encoding.UTF8.GetBytes($"\n{name}:{tensor.dtype}:[{string.Join(",", tensor.shape)}]"));
            TensorBytes.ForEachBlock(tensor.detach().cpu().contiguous(), block => hash.AppendData(block));
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset())[..16];
    }
}
