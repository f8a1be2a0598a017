using PicSharp.Modeling;
using PicSharp.Tokenization;

namespace PicSharp.Tests.Cli;

/// <summary>A random tiny model folder written by `pic init`, with a byte-level BPE trained on a few texts: what the
/// command tests run real commands on.</summary>
static class TinyModelFolder
{
    /// <summary>Writes ROOT/tokenizer.json, ROOT/config.json and the model folder ROOT/model; returns the folder.</summary>
    public static string Create(string root, IEnumerable<string> texts, LlamaConfig? config = null)
    {
        string tokenizerPath = Path.Combine(root, "tokenizer.json");
        BpeTrainer.Train(texts, new BpeTrainerOptions { VocabSize = 280 }).Save(tokenizerPath);
        string configPath = Path.Combine(root, "config.json");
        File.WriteAllText(configPath, (config ?? TinyModels.Config() with { VocabSize = 300, BosTokenId = null }).ToJson());
        string modelDir = Path.Combine(root, "model");
        Assert.Equal(0, PicCli.Run("init", "--config", configPath, "--out", modelDir, "--tokenizer", tokenizerPath).ExitCode);
        return modelDir;
    }
}
