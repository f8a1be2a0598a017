namespace PicSharp.Compression;

/// <summary>A memory read from a memory file (or a store row holding one), checked whole: its tensors, where it came
/// from, and the context's token ids when the file keeps them. Disposing it disposes the memory.</summary>
public sealed record LoadedMemory(CompressedMemory Memory, MemoryFileInfo Info, int[]? ContextIds) : IDisposable
{
    public void Deconstruct(out CompressedMemory memory, out MemoryFileInfo info) => (memory, info) = (Memory, Info);

    public void Dispose() => Memory.Dispose();
}
