using PicSharp.Storage;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;

namespace PicSharp.Modeling;

/// <summary>
/// A Hugging Face model folder: config.json plus model.safetensors, or shards listed by
/// model.safetensors.index.json. Tensor names are the HF names that <see cref="LlamaForCausalLM"/> uses.
/// </summary>
public static class ModelFolder
{
    public const string ConfigFile = "config.json";
    public const string WeightsFile = "model.safetensors";
    public const string IndexFile = "model.safetensors.index.json";
    public const string TokenizerFile = "tokenizer.json";

    static readonly Dictionary<string, ScalarType> TorchDtypes = new()
    {
        ["float32"] = ScalarType.Float32, ["bfloat16"] = ScalarType.BFloat16, ["float16"] = ScalarType.Float16,
    };

    public static ScalarType ParseTorchDtype(string name) => TorchDtypes.TryGetValue(name, out var dtype)
        ? dtype
        : throw new ArgumentException($"dtype '{name}' is not supported; supported: {string.Join(", ", TorchDtypes.Keys)}");

    public static string TorchDtypeName(ScalarType dtype) => TorchDtypes.FirstOrDefault(p => p.Value == dtype).Key
        ?? throw new ArgumentException($"dtype {dtype} is not supported for model weights; supported: {string.Join(", ", TorchDtypes.Keys)}");

    /// <summary>The base checkpoint's tensors: every parameter (LoRA adapters belong to compressors, not the model).</summary>
    public static IEnumerable<(string Name, Tensor Tensor)> BaseParameters(LlamaForCausalLM model) =>
        model.named_parameters().Select(p => (p.name, (Tensor)p.parameter));

    /// <param name="dtype">the model's dtype; default: the config's torch_dtype. Parameters are created in it and
    /// filled from the files, so a checkpoint stored in that dtype loads with no second copy of its weights.</param>
    public static LlamaForCausalLM Load(string dir, ScalarType? dtype = null)
    {
        string configPath = Path.Combine(dir, ConfigFile);
        if (!File.Exists(configPath)) throw new FileNotFoundException($"{dir}: no {ConfigFile} (not a model folder?)", configPath);
        var config = LlamaConfig.Load(configPath);
        var model = new LlamaForCausalLM(config, dtype ?? ParseTorchDtype(config.TorchDtype));
        try { LoadWeights(model, dir); }
        catch { model.Dispose(); throw; } // a refused checkpoint must not hold its memory until a collection
        model.eval();
        return model;
    }

    /// <summary>
    /// Fills the model's base parameters from the folder's safetensors, after checking names and shapes; a tensor
    /// holding NaN or infinity is an error (it would only surface later as garbage output).
    /// </summary>
    public static void LoadWeights(LlamaForCausalLM model, string dir)
    {
        var readers = OpenWeights(dir);
        try
        {
            var located = new Dictionary<string, SafeTensorsReader>();
            foreach (var reader in readers)
                foreach (string name in reader.Names)
                    located[name] = reader;
            var expected = BaseParameters(model).ToDictionary(p => p.Name, p => p.Tensor);
            CheckNames(dir, model.Config, expected, located);

            using var _ = no_grad();
            foreach (var (name, parameter) in expected)
            {
                using var scope = NewDisposeScope();
                var reader = located[name];
                if (reader.Entry(name).Dtype == parameter.dtype && parameter.is_contiguous()) reader.ReadInto(name, parameter);
                else parameter.copy_(reader.Read(name));
                // A sum is NaN or infinite exactly when some element is (torch accumulates bf16 in fp32; fp16 could
                // overflow, so it sums in fp32), and needs no mask as large as the tensor.
                var sum = parameter.dtype == ScalarType.Float16 ? parameter.sum(ScalarType.Float32) : parameter.sum();
                if (!float.IsFinite(sum.to(ScalarType.Float32).item<float>()))
                    throw new SafeTensorsException($"{reader.Path}: tensor '{name}' holds NaN or infinite values");
            }
        }
        finally
        {
            foreach (var reader in readers) reader.Dispose();
        }
    }

    // One error that lists every missing, unexpected and wrongly shaped tensor.
    static void CheckNames(string dir, LlamaConfig config, Dictionary<string, Tensor> expected, Dictionary<string, SafeTensorsReader> located)
    {
        // A tied checkpoint may still carry lm_head.weight (some exporters write it); the embedding is what counts.
        var stored = located.Where(p => !(config.TieWordEmbeddings && p.Key == "lm_head.weight"))
            .ToDictionary(p => p.Key, p => p.Value.Entry(p.Key).Shape);
        if (TensorShapes.Mismatch(expected.ToDictionary(p => p.Key, p => p.Value.shape), stored) is string problems)
            throw new SafeTensorsException($"{dir}: the checkpoint does not match the config's architecture; {problems}");
    }

    /// <summary>Paths of the folder's weight files: the shards its index names, or its one model.safetensors.</summary>
    public static List<string> WeightFiles(string dir)
    {
        string index = Path.Combine(dir, IndexFile), single = Path.Combine(dir, WeightsFile);
        var files = File.Exists(index) ? ShardFiles(index)
            : File.Exists(single) ? [WeightsFile]
            : throw new FileNotFoundException($"{dir}: neither {WeightsFile} nor {IndexFile} found", single);
        return files.Select(file => Path.Combine(dir, file)).ToList();
    }

    static List<SafeTensorsReader> OpenWeights(string dir)
    {
        var files = WeightFiles(dir);
        string index = Path.Combine(dir, IndexFile);
        var readers = new List<SafeTensorsReader>();
        try
        {
            foreach (string file in files) readers.Add(new SafeTensorsReader(file));
            if (File.Exists(index)) CheckWeightMap(index, readers);
        }
        catch
        {
            foreach (var reader in readers) reader.Dispose();
            throw;
        }
        return readers;
    }

    static Dictionary<string, string> ReadWeightMap(string indexPath)
    {
        try
        {
            var map = JsonNode.Parse(File.ReadAllText(indexPath))?["weight_map"] as JsonObject
                ?? throw new SafeTensorsException($"{indexPath}: missing 'weight_map' object");
            return map.ToDictionary(p => p.Key, p => p.Value?.GetValue<string>()
                ?? throw new SafeTensorsException($"{indexPath}: weight_map entry '{p.Key}' has no file name"));
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new SafeTensorsException($"{indexPath}: not a valid index file: {e.Message}");
        }
    }

    static List<string> ShardFiles(string indexPath)
    {
        var files = ReadWeightMap(indexPath).Values.Distinct().Order(StringComparer.Ordinal).ToList();
        foreach (string file in files)
            if (file != Path.GetFileName(file) || !File.Exists(Path.Combine(Path.GetDirectoryName(indexPath)!, file)))
                throw new SafeTensorsException($"{indexPath}: shard '{file}' named in weight_map is not a file in this folder");
        return files;
    }

    // Every tensor must be in the shard the index names, and nowhere else.
    static void CheckWeightMap(string indexPath, List<SafeTensorsReader> readers)
    {
        var map = ReadWeightMap(indexPath);
        foreach (var reader in readers)
            foreach (string name in reader.Names)
                if (!map.TryGetValue(name, out string? file) || file != Path.GetFileName(reader.Path))
                    throw new SafeTensorsException($"{indexPath}: tensor '{name}' is in {Path.GetFileName(reader.Path)} but weight_map says {file ?? "nothing"}");
        var stored = readers.SelectMany(r => r.Names).ToHashSet();
        var absent = map.Keys.Where(n => !stored.Contains(n)).ToList();
        if (absent.Count > 0) throw new SafeTensorsException($"{indexPath}: weight_map lists tensors no shard holds: {string.Join(", ", absent)}");
    }

    /// <summary>
    /// Writes config.json and the weights (one model.safetensors, or shards of at most <paramref name="maxShardBytes"/>
    /// plus an index). Stale weight files of the other layout are removed so the folder has one meaning.
    /// </summary>
    /// <param name="dtype">dtype of the saved weights; default: the model's.</param>
    public static void Save(LlamaForCausalLM model, string dir, ScalarType? dtype = null, long? maxShardBytes = null)
    {
        var target = dtype ?? model.Dtype;
        var config = model.Config with { TorchDtype = TorchDtypeName(target) };
        Directory.CreateDirectory(dir);
        using var scope = NewDisposeScope();
        var tensors = BaseParameters(model).ToDictionary(p => p.Name, p => p.Tensor.detach().to(target));
        var shards = Shards(tensors, maxShardBytes);
        var metadata = new Dictionary<string, string> { ["format"] = "pt" };
        string indexPath = Path.Combine(dir, IndexFile);
        var previousFiles = File.Exists(indexPath) ? [.. ShardFiles(indexPath), IndexFile] : new List<string>();
        previousFiles.Add(WeightsFile);

        var written = new List<string>();
        if (shards.Count == 1)
        {
            SafeTensorsFile.Save(Path.Combine(dir, WeightsFile), tensors, metadata);
            written.Add(WeightsFile);
        }
        else
        {
            var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
            for (int i = 0; i < shards.Count; i++)
            {
                string file = $"model-{i + 1:D5}-of-{shards.Count:D5}.safetensors";
                SafeTensorsFile.Save(Path.Combine(dir, file), shards[i].ToDictionary(n => n, n => tensors[n]), metadata);
                foreach (string name in shards[i]) weightMap[name] = file;
                written.Add(file);
            }
            var index = new JsonObject
            {
                ["metadata"] = new JsonObject { ["total_size"] = tensors.Values.Sum(t => t.numel() * t.ElementSize) },
                ["weight_map"] = new JsonObject(weightMap.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))),
            };
            AtomicFile.WriteAllText(indexPath, index.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            written.Add(IndexFile);
        }
        foreach (string stale in previousFiles.Except(written)) File.Delete(Path.Combine(dir, stale));
        AtomicFile.WriteAllText(Path.Combine(dir, ConfigFile), config.ToJson());
    }

    // Greedy in name order: a new shard starts when the next tensor would push the current one past the limit.
    static List<List<string>> Shards(Dictionary<string, Tensor> tensors, long? maxShardBytes)
    {
        var shards = new List<List<string>> { new() };
        long size = 0;
        foreach (var name in tensors.Keys.Order(StringComparer.Ordinal))
        {
            long bytes = tensors[name].numel() * tensors[name].ElementSize;
            if (maxShardBytes is long max && size > 0 && size + bytes > max)
            {
                shards.Add([]);
                size = 0;
            }
            shards[^1].Add(name);
            size += bytes;
        }
        return shards;
    }

    /// <summary>
    /// A short id of the base model (hex SHA-256 over its config and base weights), for recording which model a
    /// memory or adapter belongs to. Same weights in another dtype give another id.
    /// </summary>
    public static string Fingerprint(LlamaForCausalLM model) =>
        Fingerprints.Of((model.Config with { TorchDtype = TorchDtypeName(model.Dtype) }).ToJson(), BaseParameters(model));

    /// <summary>Copies a tokenizer.json (given as the file or its folder) into a model folder.</summary>
    public static void CopyTokenizer(string fromFileOrDir, string toDir)
    {
        string source = Directory.Exists(fromFileOrDir) ? Path.Combine(fromFileOrDir, TokenizerFile) : fromFileOrDir;
        if (!File.Exists(source)) throw new FileNotFoundException($"no tokenizer at {source}", source);
        AtomicFile.Write(Path.Combine(toDir, TokenizerFile), stream => { using var input = File.OpenRead(source); input.CopyTo(stream); });
    }
}
