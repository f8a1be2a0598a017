using System.Text.Encodings.Web;
using System.Text.Json;

namespace PicSharp.Tokenization;

/// <summary>
/// Reads and writes Hugging Face tokenizer.json files of byte-level BPE tokenizers (GPT-2, Llama-3, Qwen2/3 and the ones
/// <see cref="BpeTrainer"/> makes). Anything that would change the ids and that PicSharp does not implement is refused
/// with a <see cref="TokenizerFormatException"/> naming the file and the field.
/// </summary>
public static class TokenizerJson
{
    public static ByteLevelBpeModel Read(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"tokenizer file not found: {path}", path);
        using var stream = File.OpenRead(path);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(stream, new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException e)
        {
            throw new TokenizerFormatException($"{path}: not valid JSON ({e.Message})");
        }
        using (document)
            return Parse(document.RootElement, path);
    }

    /// <summary>Parses tokenizer.json text; <paramref name="source"/> names it in error messages.</summary>
    public static ByteLevelBpeModel Parse(string json, string source)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException e)
        {
            throw new TokenizerFormatException($"{source}: not valid JSON ({e.Message})");
        }
        using (document)
            return Parse(document.RootElement, source);
    }

    static ByteLevelBpeModel Parse(JsonElement root, string source)
    {
        if (root.ValueKind != JsonValueKind.Object)
            throw new TokenizerFormatException($"{source}: the top level must be a JSON object");
        if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
            throw new TokenizerFormatException($"{source}: missing the \"model\" object");
        CheckModelIsPlainBpe(model, source);
        string splitPattern = ReadSplitPattern(root, source);
        bool nfc = ReadNormalizer(root, source);
        CheckDecoder(root, source);
        return new ByteLevelBpeModel(
            ReadVocabulary(model, source),
            ReadMerges(model, source),
            ReadAddedTokens(root, source),
            splitPattern,
            nfc,
            model.TryGetProperty("ignore_merges", out var ignore) && ignore.ValueKind == JsonValueKind.True);
    }

    static void CheckModelIsPlainBpe(JsonElement model, string source)
    {
        string? type = OptionalString(model, "type", source, "model.type");
        if (type is not null && type != "BPE")
            throw new TokenizerFormatException(
                $"{source}: model.type \"{type}\" is not supported; PicSharp reads byte-level BPE tokenizers " +
                "(model.type \"BPE\" with a ByteLevel pre-tokenizer), e.g. GPT-2, Llama-3, Qwen2/Qwen3");
        if (!model.TryGetProperty("merges", out _) || !model.TryGetProperty("vocab", out _))
            throw new TokenizerFormatException($"{source}: model needs \"vocab\" and \"merges\" (a BPE model)");
        if (model.TryGetProperty("byte_fallback", out var fallback) && fallback.ValueKind == JsonValueKind.True)
            throw new TokenizerFormatException(
                $"{source}: model.byte_fallback = true (SentencePiece-style BPE) is not supported; only byte-level BPE is");
        if (model.TryGetProperty("dropout", out var dropout) && dropout.ValueKind == JsonValueKind.Number && dropout.GetDouble() > 0)
            throw new TokenizerFormatException($"{source}: model.dropout is not supported (encoding would be random)");
        foreach (string affix in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
            if (!string.IsNullOrEmpty(OptionalString(model, affix, source, $"model.{affix}")))
                throw new TokenizerFormatException($"{source}: model.{affix} is not supported by byte-level BPE");
    }

    static Dictionary<string, int> ReadVocabulary(JsonElement model, string source)
    {
        var vocab = model.GetProperty("vocab");
        if (vocab.ValueKind != JsonValueKind.Object)
            throw new TokenizerFormatException($"{source}: model.vocab must be an object of token → id");
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in vocab.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out int id) || id < 0)
                throw new TokenizerFormatException($"{source}: model.vocab[\"{entry.Name}\"] must be a non-negative integer id");
            result[entry.Name] = id;
        }
        return result;
    }

    /// <summary>Merges come as "left right" strings (older files) or as [left, right] pairs (tokenizers ≥ 0.20).</summary>
    static List<(string, string)> ReadMerges(JsonElement model, string source)
    {
        var merges = model.GetProperty("merges");
        if (merges.ValueKind != JsonValueKind.Array)
            throw new TokenizerFormatException($"{source}: model.merges must be an array");
        var result = new List<(string, string)>(merges.GetArrayLength());
        int index = 0;
        foreach (var merge in merges.EnumerateArray())
        {
            result.Add(merge.ValueKind switch
            {
                JsonValueKind.String => SplitMergeString(merge.GetString()!, source, index),
                JsonValueKind.Array when merge.GetArrayLength() == 2
                    && merge[0].ValueKind == JsonValueKind.String && merge[1].ValueKind == JsonValueKind.String
                    => (merge[0].GetString()!, merge[1].GetString()!),
                _ => throw new TokenizerFormatException(
                    $"{source}: model.merges[{index}] must be a \"left right\" string or a [left, right] pair"),
            });
            index++;
        }
        return result;
    }

    static (string, string) SplitMergeString(string merge, string source, int index)
    {
        string[] parts = merge.Split(' ');
        if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0)
            throw new TokenizerFormatException($"{source}: model.merges[{index}] \"{merge}\" is not two tokens separated by one space");
        return (parts[0], parts[1]);
    }

    static List<AddedToken> ReadAddedTokens(JsonElement root, string source)
    {
        var result = new List<AddedToken>();
        if (!root.TryGetProperty("added_tokens", out var tokens) || tokens.ValueKind == JsonValueKind.Null)
            return result;
        if (tokens.ValueKind != JsonValueKind.Array)
            throw new TokenizerFormatException($"{source}: added_tokens must be an array");
        int index = 0;
        foreach (var token in tokens.EnumerateArray())
        {
            string field = $"added_tokens[{index++}]";
            if (token.ValueKind != JsonValueKind.Object
                || !token.TryGetProperty("id", out var id) || !id.TryGetInt32(out int idValue) || idValue < 0
                || !token.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.String
                || content.GetString()!.Length == 0)
                throw new TokenizerFormatException($"{source}: {field} needs an integer \"id\" and a non-empty string \"content\"");
            foreach (string flag in new[] { "single_word", "lstrip", "rstrip" })
                if (token.TryGetProperty(flag, out var value) && value.ValueKind == JsonValueKind.True)
                    throw new TokenizerFormatException($"{source}: {field}.{flag} = true is not supported");
            bool special = token.TryGetProperty("special", out var s) && s.ValueKind == JsonValueKind.True;
            result.Add(new AddedToken(idValue, content.GetString()!, special));
        }
        return result;
    }

    /// <summary>NFC is the only normaliser that byte-level tokenizers in use declare; anything else is refused.</summary>
    static bool ReadNormalizer(JsonElement root, string source)
    {
        if (!root.TryGetProperty("normalizer", out var normalizer) || normalizer.ValueKind == JsonValueKind.Null)
            return false;
        string? type = normalizer.ValueKind == JsonValueKind.Object ? OptionalString(normalizer, "type", source, "normalizer.type") : null;
        if (type == "NFC")
            return true;
        throw new TokenizerFormatException(
            $"{source}: normalizer.type \"{type ?? normalizer.ValueKind.ToString()}\" is not supported (supported: none, NFC)");
    }

    /// <summary>
    /// Accepts the two byte-level layouts: Sequence[Split(regex, Isolated), ByteLevel(use_regex=false)] (Llama-3, Qwen)
    /// and a lone ByteLevel(use_regex=true) (GPT-2, whose built-in pattern is <see cref="SplitPatterns.Gpt2"/>).
    /// </summary>
    static string ReadSplitPattern(JsonElement root, string source)
    {
        if (!root.TryGetProperty("pre_tokenizer", out var pre) || pre.ValueKind != JsonValueKind.Object)
            throw new TokenizerFormatException(
                $"{source}: pre_tokenizer is missing; only byte-level BPE (a ByteLevel pre-tokenizer) is supported");
        string? type = OptionalString(pre, "type", source, "pre_tokenizer.type");
        if (type == "ByteLevel")
        {
            CheckByteLevelStep(pre, source, "pre_tokenizer", expectRegex: true);
            return SplitPatterns.Gpt2;
        }
        if (type == "Sequence" && pre.TryGetProperty("pretokenizers", out var steps) && steps.ValueKind == JsonValueKind.Array
            && steps.GetArrayLength() == 2)
        {
            var split = steps[0];
            var byteLevel = steps[1];
            if (OptionalString(byteLevel, "type", source, "pre_tokenizer.pretokenizers[1].type") != "ByteLevel")
                throw new TokenizerFormatException(
                    $"{source}: pre_tokenizer.pretokenizers[1] must be ByteLevel; non-byte-level BPE is not supported");
            CheckByteLevelStep(byteLevel, source, "pre_tokenizer.pretokenizers[1]", expectRegex: false);
            return ReadSplitRegex(split, source, "pre_tokenizer.pretokenizers[0]");
        }
        throw new TokenizerFormatException(
            $"{source}: pre_tokenizer of type \"{type}\" is not supported; expected Sequence[Split(Regex), ByteLevel] or " +
            "ByteLevel (byte-level BPE)");
    }

    static void CheckByteLevelStep(JsonElement step, string source, string field, bool expectRegex)
    {
        if (step.TryGetProperty("add_prefix_space", out var prefix) && prefix.ValueKind == JsonValueKind.True)
            throw new TokenizerFormatException($"{source}: {field}.add_prefix_space = true is not supported");
        bool useRegex = !step.TryGetProperty("use_regex", out var regex) || regex.ValueKind != JsonValueKind.False;
        if (useRegex != expectRegex)
            throw new TokenizerFormatException(
                $"{source}: {field}.use_regex = {useRegex.ToString().ToLowerInvariant()} is not supported here " +
                $"(expected {expectRegex.ToString().ToLowerInvariant()})");
    }

    static string ReadSplitRegex(JsonElement split, string source, string field)
    {
        if (OptionalString(split, "type", source, $"{field}.type") != "Split")
            throw new TokenizerFormatException($"{source}: {field} must be a Split pre-tokenizer");
        if (!split.TryGetProperty("pattern", out var pattern) || pattern.ValueKind != JsonValueKind.Object
            || !pattern.TryGetProperty("Regex", out var regex) || regex.ValueKind != JsonValueKind.String)
            throw new TokenizerFormatException($"{source}: {field}.pattern must be {{\"Regex\": \"...\"}}");
        if (OptionalString(split, "behavior", source, $"{field}.behavior") is { } behavior && behavior != "Isolated")
            throw new TokenizerFormatException($"{source}: {field}.behavior \"{behavior}\" is not supported (supported: Isolated)");
        if (split.TryGetProperty("invert", out var invert) && invert.ValueKind == JsonValueKind.True)
            throw new TokenizerFormatException($"{source}: {field}.invert = true is not supported");
        return regex.GetString()!;
    }

    static void CheckDecoder(JsonElement root, string source)
    {
        if (!root.TryGetProperty("decoder", out var decoder) || decoder.ValueKind == JsonValueKind.Null)
            return;
        string? type = decoder.ValueKind == JsonValueKind.Object ? OptionalString(decoder, "type", source, "decoder.type") : null;
        if (type != "ByteLevel")
            throw new TokenizerFormatException($"{source}: decoder.type \"{type}\" is not supported (supported: ByteLevel)");
    }

    static string? OptionalString(JsonElement element, string name, string source, string field)
    {
        if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            return null;
        if (value.ValueKind != JsonValueKind.String)
            throw new TokenizerFormatException($"{source}: {field} must be a string");
        return value.GetString();
    }

    /// <summary>The standard tokenizer.json layout of a byte-level BPE (as Hugging Face tokenizers writes it).</summary>
    public static string Write(ByteLevelBpeModel model)
    {
        using var buffer = new MemoryStream();
        var options = new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        using (var json = new Utf8JsonWriter(buffer, options))
        {
            json.WriteStartObject();
            json.WriteString("version", "1.0");
            json.WriteNull("truncation");
            json.WriteNull("padding");
            WriteAddedTokens(json, model.AddedTokens);
            if (model.NormalizeNfc)
            {
                json.WriteStartObject("normalizer");
                json.WriteString("type", "NFC");
                json.WriteEndObject();
            }
            else
                json.WriteNull("normalizer");
            WritePreTokenizer(json, model.SplitPattern);
            WriteByteLevel(json, "post_processor");
            WriteByteLevel(json, "decoder");
            WriteModel(json, model);
            json.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    static void WriteAddedTokens(Utf8JsonWriter json, IReadOnlyList<AddedToken> tokens)
    {
        json.WriteStartArray("added_tokens");
        foreach (var token in tokens.OrderBy(t => t.Id))
        {
            json.WriteStartObject();
            json.WriteNumber("id", token.Id);
            json.WriteString("content", token.Content);
            json.WriteBoolean("single_word", false);
            json.WriteBoolean("lstrip", false);
            json.WriteBoolean("rstrip", false);
            json.WriteBoolean("normalized", false);
            json.WriteBoolean("special", token.Special);
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }

    static void WritePreTokenizer(Utf8JsonWriter json, string splitPattern)
    {
        json.WriteStartObject("pre_tokenizer");
        json.WriteString("type", "Sequence");
        json.WriteStartArray("pretokenizers");
        json.WriteStartObject();
        json.WriteString("type", "Split");
        json.WriteStartObject("pattern");
        json.WriteString("Regex", splitPattern);
        json.WriteEndObject();
        json.WriteString("behavior", "Isolated");
        json.WriteBoolean("invert", false);
        json.WriteEndObject();
        json.WriteStartObject();
        json.WriteString("type", "ByteLevel");
        json.WriteBoolean("add_prefix_space", false);
        json.WriteBoolean("trim_offsets", true);
        json.WriteBoolean("use_regex", false);
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();
    }

    static void WriteByteLevel(Utf8JsonWriter json, string name)
    {
        json.WriteStartObject(name);
        json.WriteString("type", "ByteLevel");
        json.WriteBoolean("add_prefix_space", false);
        json.WriteBoolean("trim_offsets", true);
        json.WriteBoolean("use_regex", true);
        json.WriteEndObject();
    }

    static void WriteModel(Utf8JsonWriter json, ByteLevelBpeModel model)
    {
        json.WriteStartObject("model");
        json.WriteString("type", "BPE");
        json.WriteNull("dropout");
        json.WriteNull("unk_token");
        json.WriteNull("continuing_subword_prefix");
        json.WriteNull("end_of_word_suffix");
        json.WriteBoolean("fuse_unk", false);
        json.WriteBoolean("byte_fallback", false);
        json.WriteBoolean("ignore_merges", model.IgnoreMerges);
        json.WriteStartObject("vocab");
        foreach (var (token, id) in model.Vocabulary.OrderBy(entry => entry.Value))
            json.WriteNumber(token, id);
        json.WriteEndObject();
        json.WriteStartArray("merges");
        foreach (var (left, right) in model.Merges)
            json.WriteStringValue($"{left} {right}");
        json.WriteEndArray();
        json.WriteEndObject();
    }
}
