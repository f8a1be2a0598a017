namespace PicSharp.LlamaCpp;

/// <summary>How the llama.cpp engine is set up: its threads, how many questions it decodes at once, how many
/// positions each may take, and how much one llama.cpp call takes in.</summary>
public sealed record LlamaCppOptions
{
    /// <summary>llama.cpp's own limit on sequences in one context (LLAMA_MAX_SEQ in llama-cparams.h).</summary>
    public const int MaxSequencesLimit = 256;

    /// <summary>CPU threads for decoding and prompt processing (the same count TorchSharp is given).</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;
    /// <summary>Most questions one <see cref="LlamaCppAnswerer.Answer"/> call decodes together, one llama.cpp sequence each
    /// (`pic serve --max-batch`).</summary>
    public int Sequences { get; init; } = 1;
    /// <summary>Positions one question may take, memory and prompt and answer; null: the model's max_position_embeddings.
    /// Each sequence has a KV cache this long.</summary>
    public int? ContextTokens { get; init; }
    /// <summary>Most tokens or vectors one llama.cpp decode call takes (llama.cpp's n_batch); longer inputs go in several calls.</summary>
    public int BatchTokens { get; init; } = 512;

    /// <summary>Throws <see cref="InvalidInputException"/> naming the first setting llama.cpp cannot take.</summary>
    public void Validate(int modelPositions)
    {
        if (Threads < 1) throw new InvalidInputException($"llama.cpp needs at least 1 thread, got {Threads}");
        if (Sequences is < 1 or > MaxSequencesLimit)
            throw new InvalidInputException($"llama.cpp decodes 1 to {MaxSequencesLimit} questions at once, got {Sequences}");
        if (ContextTokens is int context && (context < 2 || context > modelPositions))
            throw new InvalidInputException($"the llama.cpp context must be between 2 and the model's {modelPositions} positions, got {context}");
        if (BatchTokens < 1) throw new InvalidInputException($"a llama.cpp batch must take at least 1 token, got {BatchTokens}");
    }
}
