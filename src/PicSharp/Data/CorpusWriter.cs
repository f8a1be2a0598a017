using System.Text;
using System.Text.Json;
using PicSharp.Storage;

namespace PicSharp.Data;

/// <summary>Documents and bytes of one split, as recorded in data/corpus/manifest.json.</summary>
public sealed record SplitSize(int Documents, long Bytes);

/// <summary>
/// Writes `corpus/{train,validation,test}/NAME.txt` and `corpus/manifest.json` as an <see cref="AtomicFolder"/>, so an
/// interrupted run never leaves a half-written corpus.
/// </summary>
public static class CorpusWriter
{
    public static IReadOnlyDictionary<DataSplit, SplitSize> Write(string corpusDirectory, IEnumerable<CorpusDocument> documents)
    {
        IReadOnlyDictionary<DataSplit, SplitSize>? sizes = null;
        AtomicFolder.Write(corpusDirectory, staging => sizes = WriteContents(staging, documents));
        return sizes!;
    }

    static Dictionary<DataSplit, SplitSize> WriteContents(string staging, IEnumerable<CorpusDocument> documents)
    {
        foreach (var split in DataSplits.All) Directory.CreateDirectory(Path.Combine(staging, split.CorpusName()));

        var records = new List<object>();
        var names = new HashSet<string>();
        var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
        foreach (var document in documents)
        {
            if (!names.Add(document.Name)) throw new InvalidOperationException($"two corpus documents are named '{document.Name}'");
            byte[] bytes = utf8.GetBytes(document.Text);
            File.WriteAllBytes(Path.Combine(staging, document.Split.CorpusName(), document.Name + ".txt"), bytes);
            records.Add(new { name = document.Name, source = document.Source, split = document.Split.CorpusName(), bytes = bytes.LongLength });
        }

        var sizes = DataSplits.All.ToDictionary(split => split, split =>
        {
            var files = Directory.GetFiles(Path.Combine(staging, split.CorpusName()));
            return new SplitSize(files.Length, files.Sum(f => new FileInfo(f).Length));
        });
        var manifest = new
        {
            splits = sizes.ToDictionary(s => s.Key.CorpusName(), s => new { documents = s.Value.Documents, bytes = s.Value.Bytes }),
            documents = records,
        };
        File.WriteAllText(Path.Combine(staging, "manifest.json"), JsonSerializer.Serialize(manifest, new JsonSerializerOptions { WriteIndented = true }));
        return sizes;
    }
}
