namespace PicSharp.Serving.Store;

/// <summary>
/// Where compressed memories live, keyed by <see cref="MemoryKey"/>. Implementations are thread-safe; a successful
/// <see cref="Add"/> is durable (it survives the process being killed), and a memory is either wholly there or absent.
/// A store that cannot be reached throws <see cref="StoreUnavailableException"/>.
/// </summary>
public interface IMemoryStore : IDisposable
{
    /// <summary>Where the memories are, for people (logs, /ready): a file path, or a database address without its password.</summary>
    string Location { get; }
    /// <summary>Stores the memory unless one with its id is there already; true when this call added it.</summary>
    bool Add(StoredMemory memory);
    MemoryRecord? Find(string id);
    StoredMemory? Load(string id);
    bool Delete(string id);
    /// <summary>Newest first.</summary>
    IReadOnlyList<MemoryRecord> List(int offset, int limit);
    int Count();
    /// <summary>Throws, naming the problem, unless the store is there and can be read and written (readiness).</summary>
    void CheckReadWrite();
}
