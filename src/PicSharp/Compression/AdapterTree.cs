using PicSharp.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace PicSharp.Compression;

/// <summary>
/// A compressor's LoRA adapters arranged by the model paths they adapt, one module per path segment, so their
/// parameter names are the paths PEFT writes (`model.layers.0.self_attn.q_proj.lora_A.weight`). The tree names and
/// owns the adapters; the model's projections run them.
/// </summary>
sealed class AdapterTree : nn.Module
{
    AdapterTree() : base(nameof(AdapterTree)) { }

    public static AdapterTree Of(IEnumerable<(string Path, LoraAdapter Adapter)> adapters)
    {
        var root = new AdapterTree();
        foreach (var (path, adapter) in adapters) root.Add(path.Split('.'), adapter);
        return root;
    }

    void Add(ReadOnlySpan<string> segments, LoraAdapter adapter)
    {
        if (segments.Length == 1)
        {
            register_module(segments[0], adapter);
            return;
        }
        if (!_internal_submodules.TryGetValue(segments[0], out var child))
        {
            child = new AdapterTree();
            register_module(segments[0], child);
        }
        ((AdapterTree)child).Add(segments[1..], adapter);
    }
}
