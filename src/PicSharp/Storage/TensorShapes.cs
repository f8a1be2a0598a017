namespace PicSharp.Storage;

/// <summary>Compares a checkpoint's tensor shapes with the ones a model needs.</summary>
static class TensorShapes
{
    /// <summary>Every missing, unexpected and wrongly shaped tensor in one sentence, or null when all match.</summary>
    public static string? Mismatch(IReadOnlyDictionary<string, long[]> expected, IReadOnlyDictionary<string, long[]> stored)
    {
        static string Shape(long[] s) => $"[{string.Join(", ", s)}]";
        var problems = new List<string>();
        var missing = expected.Keys.Where(n => !stored.ContainsKey(n)).ToList();
        var unexpected = stored.Keys.Where(n => !expected.ContainsKey(n)).ToList();
        var wrong = expected.Where(e => stored.TryGetValue(e.Key, out var s) && !s.SequenceEqual(e.Value))
            .Select(e => $"{e.Key} (expected {Shape(e.Value)}, found {Shape(stored[e.Key])})").ToList();
        if (missing.Count > 0) problems.Add($"missing: {string.Join(", ", missing)}");
        if (unexpected.Count > 0) problems.Add($"unexpected: {string.Join(", ", unexpected)}");
        if (wrong.Count > 0) problems.Add($"wrong shape: {string.Join(", ", wrong)}");
        return problems.Count == 0 ? null : string.Join("; ", problems);
    }
}
