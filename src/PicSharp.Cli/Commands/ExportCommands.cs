using System.CommandLine;
using PicSharp.Gguf;
using PicSharp.Storage;
using Spectre.Console;

namespace PicSharp.Cli.Commands;

/// <summary>`pic export gguf`: a model folder as one GGUF file for llama.cpp (and the tools built on it); and the
/// `pic info F.gguf` description of such a file.</summary>
public static class ExportCommands
{
    public static Command Create() => new("export", "Write a model folder in another format") { Gguf() };

    static Command Gguf()
    {
        var model = new Option<DirectoryInfo>("--model") { Description = "model folder (config.json, safetensors, tokenizer.json)", Required = true };
        var output = new Option<FileInfo>("--out") { Description = "GGUF file to write", Required = true };
        var type = new Option<string>("--type")
        {
            Description = $"weight type of the matrices: {string.Join(", ", GgufExport.WeightTypes.Keys)} (norms and biases stay f32)",
            DefaultValueFactory = _ => "f32",
        };
        var force = new Option<bool>("--force") { Description = "replace an existing output file" };
        var command = new Command("gguf", "Export a model folder to a GGUF file that llama.cpp loads (architecture keys, BPE vocabulary, weights)")
        { model, output, type, force };
        command.SetAction(parse => CommandErrors.Run("pic export gguf", () =>
        {
            var weightType = GgufExport.ParseWeightType(parse.GetValue(type)!);
            var dir = parse.GetValue(model)!;
            LoadedModel.RequireFolder(dir.FullName);
            var outFile = parse.GetValue(output)!;
            OutputPath.RequireFile(outFile.FullName);
            if (outFile.Exists && !parse.GetValue(force))
                throw new IOException($"{outFile.FullName} exists; pass --force to replace it");
            var result = GgufExport.Export(dir.FullName, outFile.FullName, weightType);
            Console.WriteLine($"wrote {result.Path}: {result.Architecture}, {result.TensorCount} tensors, {result.Bytes / 1e6:F1} MB, " +
                $"matrices {parse.GetValue(type)}" + (result.KeptAsF16.Count == 0 ? "" :
                $" ({result.KeptAsF16.Count} kept as f16: rows not whole 32-value blocks, e.g. {result.KeptAsF16[0]})"));
            return 0;
        }));
        return command;
    }

    /// <summary>`pic info` for a GGUF file: the rows of <see cref="InfoRows"/> as a table.</summary>
    public static void PrintInfo(string path)
    {
        var table = new Table().HideHeaders().AddColumns("", "");
        foreach (var (label, value) in InfoRows(path)) table.AddRow(label, Markup.Escape(value));
        AnsiConsole.Write(table);
    }

    /// <summary>What `pic info` says about a GGUF file: header facts, and whether PicSharp's check accepts it.</summary>
    internal static IReadOnlyList<(string Label, string Value)> InfoRows(string path)
    {
        var model = GgufModel.Read(path);
        var file = model.File;
        string Key(string key) => file.Find(key)?.ToString() ?? "-";
        string ArchKey(string key) => Key($"{model.Architecture}.{key}");
        string check;
        try { model.RequireLoadable(); check = "ok: keys, vocabulary and tensors agree"; }
        catch (GgufFormatException e) { check = e.Message; }
        return
        [
            ("architecture", $"{model.Architecture} ({Key("general.name")})"),
            ("layers", ArchKey("block_count")),
            ("hidden / feed-forward", $"{ArchKey("embedding_length")} / {ArchKey("feed_forward_length")}"),
            ("heads / kv heads / head dim", $"{ArchKey("attention.head_count")} / {ArchKey("attention.head_count_kv")} / {ArchKey("attention.key_length")}"),
            ("context / rope base", $"{ArchKey("context_length")} / {ArchKey("rope.freq_base")}" + (file.FindTensor(GgufTensorLayout.RopeFactors) is null ? "" : " (with RoPE factors)")),
            ("vocabulary", $"{model.VocabSize?.ToString() ?? "none"} tokens, {Key("tokenizer.ggml.model")} / pre {Key("tokenizer.ggml.pre")}, " +
                $"bos {Key("tokenizer.ggml.bos_token_id")}, eos {Key("tokenizer.ggml.eos_token_id")}"),
            ("tied embeddings", file.FindTensor("token_embd.weight") is null ? "-" : $"{file.FindTensor("output.weight") is null}"),
            ("tensors", $"{file.Tensors.Count}: " + string.Join(", ", file.Tensors.GroupBy(t => t.Type).OrderBy(g => g.Key).Select(g => $"{g.Count()} {g.Key}"))),
            ("parameters", $"{file.Tensors.Sum(t => t.ElementCount):N0}"),
            ("file", $"GGUF v{GgufFile.Version}, {file.FileLength / 1e6:F1} MB, {file.Metadata.Count} metadata keys, alignment {file.Alignment}"),
            ("check", check),
        ];
    }
}
