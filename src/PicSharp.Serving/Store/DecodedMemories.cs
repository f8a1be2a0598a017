using PicSharp.Compression;

namespace PicSharp.Serving.Store;

/// <summary>
/// Recently asked memories kept decoded and verified (tensors ready), so asking a memory again skips reading, checking
/// and unpacking its file. Bounded by the memory files' bytes; the least recently used goes first, but the
/// <c>keepAtLeast</c> most recent always stay, so every memory of the batch being answered (at most the queue's batch
/// size) outlives the others' lookups. <see cref="Get"/> and the memories it returns belong to one thread at a time;
/// <see cref="Lend"/> and <see cref="Contains"/> may be called from any thread.
/// </summary>
public sealed class DecodedMemories(long maxBytes, int keepAtLeast) : IDisposable
{
    readonly Lock gate = new();
    readonly LinkedList<(string Id, long Bytes, LoadedMemory Memory)> recent = new(); // most recent first
    readonly Dictionary<string, LinkedListNode<(string Id, long Bytes, LoadedMemory Memory)>> byId = [];
    long bytes;

    public bool Contains(string id)
    {
        lock (gate) return byId.ContainsKey(id);
    }

    /// <summary>The decoded memory of <paramref name="stored"/>, decoded now on a miss; the cache disposes it.</summary>
    public LoadedMemory Get(StoredMemory stored, Func<StoredMemory, LoadedMemory> decode)
    {
        string id = stored.Record.Id;
        lock (gate)
            if (byId.TryGetValue(id, out var hit))
            {
                recent.Remove(hit);
                recent.AddFirst(hit);
                return hit.Value.Memory;
            }
        var loaded = decode(stored);
        // Cached tensors outlive whatever dispose scope the caller decodes in.
        loaded.Memory.Embeddings?.DetachFromDisposeScope();
        foreach (var (keys, values) in loaded.Memory.KeyValues ?? []) { keys.DetachFromDisposeScope(); values.DetachFromDisposeScope(); }
        lock (gate)
        {
            byId[id] = recent.AddFirst((id, stored.File.Length, loaded));
            bytes += stored.File.Length;
            while (bytes > maxBytes && recent.Count > keepAtLeast)
            {
                var (oldId, oldBytes, old) = recent.Last!.Value;
                recent.RemoveLast();
                byId.Remove(oldId);
                bytes -= oldBytes;
                old.Dispose();
            }
        }
        return loaded;
    }

    /// <summary>A memory of the caller's own for <paramref name="stored"/> (decoded now on a miss): views of the kept
    /// tensors, which stay valid when the cache later drops its copy; the caller disposes it. Lending holds the cache's
    /// lock, so no other lookup drops the copy while the views are taken.</summary>
    public CompressedMemory Lend(StoredMemory stored, Func<StoredMemory, LoadedMemory> decode)
    {
        lock (gate) return Get(stored, decode).Memory.Row(0);
    }

    public void Dispose()
    {
        lock (gate)
        {
            foreach (var (_, _, memory) in recent) memory.Dispose();
            recent.Clear();
            byId.Clear();
            bytes = 0;
        }
    }
}
