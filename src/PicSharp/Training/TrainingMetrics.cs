using PicSharp.Storage;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PicSharp.Training;

/// <summary>One line of metrics.jsonl: a training step (Kind "train") or an evaluation (Kind "eval").</summary>
/// <param name="Values">further named numbers a recipe records (e.g. token accuracy, EM, F1), written as top-level keys.</param>
public sealed record MetricsRecord(string Kind, int Step, long TokensSeen, double ElapsedSeconds, double Loss,
    double? LearningRate = null, double? GradNorm = null, double? TokensPerSecond = null,
    IReadOnlyDictionary<string, double>? Values = null)
{
    static readonly string[] FixedKeys = ["kind", "step", "tokens", "elapsed_s", "loss", "perplexity", "lr", "grad_norm", "tokens_per_s"];

    public double? Value(string name) => Values is not null && Values.TryGetValue(name, out double v) ? v : null;

    /// <summary>A training step's model FLOP/s (`model_flops_per_s`) and, when the machine's matmul peak is known, its
    /// model-FLOP utilisation (`mfu`), added to <paramref name="values"/>.</summary>
    public static Dictionary<string, double> WithThroughput(Dictionary<string, double> values, double flops, double seconds, double? peakFlopsPerSecond)
    {
        values["model_flops_per_s"] = Math.Round(flops / seconds);
        if (peakFlopsPerSecond is double peak) values["mfu"] = flops / seconds / peak;
        return values;
    }

    public string ToJson()
    {
        var node = new JsonObject
        {
            ["kind"] = Kind, ["step"] = Step, ["tokens"] = TokensSeen,
            ["elapsed_s"] = Math.Round(ElapsedSeconds, 3), ["loss"] = Loss,
        };
        if (Kind == "eval") node["perplexity"] = Math.Exp(Loss);
        if (LearningRate is { } lr) node["lr"] = lr;
        if (GradNorm is { } g) node["grad_norm"] = g;
        if (TokensPerSecond is { } tps) node["tokens_per_s"] = Math.Round(tps, 1);
        foreach (var (name, value) in Values ?? new Dictionary<string, double>()) node[name] = value;
        return node.ToJsonString();
    }

    public static MetricsRecord Parse(string line)
    {
        var node = JsonNode.Parse(line)?.AsObject() ?? throw new TrainingException("empty metrics line");
        var values = node.Where(p => !FixedKeys.Contains(p.Key)).ToDictionary(p => p.Key, p => p.Value!.GetValue<double>());
        return new MetricsRecord(
            node["kind"]!.GetValue<string>(), node["step"]!.GetValue<int>(), node["tokens"]!.GetValue<long>(),
            node["elapsed_s"]!.GetValue<double>(), node["loss"]!.GetValue<double>(),
            node["lr"]?.GetValue<double>(), node["grad_norm"]?.GetValue<double>(), node["tokens_per_s"]?.GetValue<double>(),
            values.Count == 0 ? null : values);
    }
}

/// <summary>The run's metrics.jsonl: appended line by line, trimmed back to a checkpoint's step on resume.</summary>
public sealed class MetricsLog(string path)
{
    public string Path { get; } = path;

    public void Append(MetricsRecord record) => File.AppendAllText(Path, record.ToJson() + "\n");

    public IReadOnlyList<MetricsRecord> ReadAll()
    {
        if (!File.Exists(Path)) return [];
        var records = new List<MetricsRecord>();
        int lineNumber = 0;
        foreach (string line in File.ReadLines(Path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            try { records.Add(MetricsRecord.Parse(line)); }
            catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException or TrainingException)
            {
                // A line cut short by a crash is expected at the end of the file; anything else is corruption.
                if (lineNumber == File.ReadLines(Path).Count()) break;
                throw new TrainingException($"{Path}:{lineNumber}: unreadable metrics line ({e.Message})");
            }
        }
        return records;
    }

    /// <summary>Drops records after <paramref name="step"/> (they belong to work the checkpoint does not contain).</summary>
    public void TruncateAfter(int step)
    {
        var kept = ReadAll().Where(r => r.Step <= step).Select(r => r.ToJson() + "\n");
        AtomicFile.WriteAllText(Path, string.Concat(kept));
    }
}
