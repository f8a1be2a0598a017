using System.Runtime.CompilerServices;

namespace PicSharp.Tests;

/// <summary>
/// Tests run on tiny tensors, where torch's intra-op threads only add contention: on the shared 2-core machine a
/// tiny compressor training step took 0.08 s on one thread and 0.5-4.5 s on two. xUnit already runs test classes in
/// parallel, which keeps both cores busy.
/// </summary>
static class OneTorchThread
{
    [ModuleInitializer]
    internal static void Set() => TorchSharp.torch.set_num_threads(1);
}
