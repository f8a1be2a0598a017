using System.Security.Cryptography;
using System.Text;

namespace PicSharp.Data;

/// <summary>The three held-apart parts of every data set. Validation is called "dev" in QA sets, as in SQuAD.</summary>
public enum DataSplit { Train, Validation, Test }

public static class DataSplits
{
    public static readonly IReadOnlyList<DataSplit> All = [DataSplit.Train, DataSplit.Validation, DataSplit.Test];

    /// <summary>
    /// A stable split for a whole document, word or entity name: ~90 % train, 5 % validation, 5 % test, from a hash of
    /// the key, so the same key lands in the same split on every machine and every run.
    /// </summary>
    public static DataSplit Assign(string key)
    {
        ulong bucket = StableHash(key) % 100;
        return bucket < 90 ? DataSplit.Train : bucket < 95 ? DataSplit.Validation : DataSplit.Test;
    }

    /// <summary>The first 8 bytes of the key's SHA-256: the same on every machine (unlike string.GetHashCode).</summary>
    public static ulong StableHash(string key) => BitConverter.ToUInt64(SHA256.HashData(Encoding.UTF8.GetBytes(key)), 0);

    /// <summary>Folder name of a corpus split: train, validation, test.</summary>
    public static string CorpusName(this DataSplit split) => split.ToString().ToLowerInvariant();

    /// <summary>File name of a lexicon or QA split: train, dev, test.</summary>
    public static string QaName(this DataSplit split) => split == DataSplit.Validation ? "dev" : split.CorpusName();

    public static DataSplit Parse(string name) => name.ToLowerInvariant() switch
    {
        "train" => DataSplit.Train,
        "dev" or "validation" => DataSplit.Validation,
        "test" => DataSplit.Test,
        _ => throw new InvalidInputException($"unknown split '{name}'; use train, dev (validation) or test"),
    };
}
