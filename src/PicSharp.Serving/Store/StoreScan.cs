namespace PicSharp.Serving.Store;

/// <summary>
/// Reads every memory in a store and checks it as an ask would (<see cref="StoredMemory.Decode"/>: checksum, finite
/// values, row against file), without a model: what `pic verify` reports.
/// </summary>
public static class StoreScan
{
    const int Page = 100;

    /// <param name="checkedRow">called with each row's id after it is checked (progress).</param>
    public static IReadOnlyList<StoreProblem> Run(IMemoryStore store, Action<string>? checkedRow = null)
    {
        var problems = new List<StoreProblem>();
        var ids = new List<string>();
        for (int offset = 0; ; offset += Page)
        {
            var page = store.List(offset, Page);
            ids.AddRange(page.Select(r => r.Id));
            if (page.Count < Page) break;
        }
        foreach (string id in ids)
        {
            try
            {
                if (store.Load(id) is { } stored)
                    using (stored.Decode(expectedCompressorId: null, vocabularySize: null)) { }
            }
            catch (InvalidDataException e) { problems.Add(new StoreProblem(id, e.Message)); }
            checkedRow?.Invoke(id);
        }
        return problems;
    }
}
