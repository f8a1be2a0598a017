using System.CommandLine;
using PicSharp.Compression;
using PicSharp.Modeling;

namespace PicSharp.Cli.Commands;

/// <summary>
/// `pic init-compressor`: a new, untrained compressor folder for a model (LoRA B at zero, random memory and task
/// tokens) — what training starts from, and enough to run the serving stack end to end before a trained one exists.
/// </summary>
static class InitCompressorCommand
{
    public static Command Create()
    {
        var model = EngineOptions.ModelOption("model folder");
        var output = new Option<string>("--out") { Description = "compressor folder to write", Required = true };
        var ratio = new Option<int>("--ratio") { Description = "context tokens per memory token", DefaultValueFactory = _ => 4 };
        var chunk = new Option<int>("--chunk-length") { Description = "tokens per chunk", DefaultValueFactory = _ => 64 };
        var policy = new Option<string>("--policy") { Description = "global | pic | pic-causal-text | pic-recurrent", DefaultValueFactory = _ => "pic" };
        var kind = new Option<string>("--kind") { Description = "embeddings | key-values", DefaultValueFactory = _ => "embeddings" };
        kind.AcceptOnlyFromAmong("embeddings", "key-values");
        var seed = new Option<ulong>("--seed") { Description = "random seed of the new embeddings", DefaultValueFactory = _ => 0 };
        var command = new Command("init-compressor", "Create an untrained compressor folder for a model (what training starts from)")
        { model, output, ratio, chunk, policy, kind, seed };
        command.SetAction(parse => CommandErrors.Run("pic init-compressor", () =>
        {
            string dir = parse.GetValue(output)!;
            if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any()) throw new IOException($"{dir} is not empty");
            var memoryKind = parse.GetValue(kind) == "key-values" ? MemoryKind.KeyValues : MemoryKind.Embeddings;
            var options = new CompressorOptions
            {
                Ratio = parse.GetValue(ratio), ChunkLength = parse.GetValue(chunk), Policy = TrainCompressorCommand.ParsePolicy(parse.GetValue(policy)!), Kind = memoryKind,
            };
            try { options.Validate(); } // before the model loads; what it refuses is the user's input
            catch (ArgumentException e) { throw new InvalidInputException(e.Message); }
            string modelDir = EngineOptions.ModelFolder(parse.GetValue(model));
            LoadedModel.RequireFolder(modelDir);
            using var llm = ModelFolder.Load(modelDir);
            var compressor = new Compressor(llm, options, parse.GetValue(seed));
            CompressorFolder.Save(compressor, dir, modelDir);
            Console.WriteLine($"wrote {dir}: untrained compressor {CompressorFolder.Fingerprint(compressor)} (ratio {options.Ratio}, chunk {options.ChunkLength}, {options.Policy.Name()}, {parse.GetValue(kind)})");
            return 0;
        }));
        return command;
    }
}
