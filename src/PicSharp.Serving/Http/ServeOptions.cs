namespace PicSharp.Serving.Http;

/// <summary>How `pic serve` listens and what it accepts.</summary>
public sealed record ServeOptions
{
    /// <summary>Loopback by default: nothing outside this machine reaches the service unless asked for. Several
    /// addresses are ';'-separated, as ASP.NET's --urls and ASPNETCORE_URLS take them.</summary>
    public string Url { get; init; } = "http://127.0.0.1:8080";
    /// <summary>When set, /v1 requests need `Authorization: Bearer KEY`.</summary>
    public string? ApiKey { get; init; }
    public int QueueCapacity { get; init; } = 16;
    /// <summary>Most questions answered together as one decoding batch (1: one at a time). A batch step of 8 rows costs
    /// well under 2x a step of one on CPU (docs/perf.md, `pic bench batch`), so waiting questions gain several-fold.</summary>
    public int MaxBatch { get; init; } = 8;
    public long MaxBodyBytes { get; init; } = 1 << 20;
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(120);
    /// <summary>How long shutdown waits for accepted work before it gives up on it.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(30);
    public int DefaultMaxNewTokens { get; init; } = 32;
    public int MaxNewTokensLimit { get; init; } = 256;
    /// <summary>The model id of the OpenAI-compatible endpoints: every answer names it, whatever model a request asks for.</summary>
    public string ModelName { get; init; } = "picsharp";
    /// <summary>More names /v1/models lists for the served model (clients that pick a model from that list).</summary>
    public IReadOnlyList<string> ModelAliases { get; init; } = [];
    public bool JsonLogs { get; init; }

    public void Validate()
    {
        // ASP.NET's form: ';'-separated addresses, where host * or + means every interface.
        foreach (string address in Url.Split(';', StringSplitOptions.TrimEntries))
            if (!Uri.TryCreate(address.Replace("://*", "://0.0.0.0").Replace("://+", "://0.0.0.0"), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                throw new InvalidInputException($"--url '{address}' is not an http(s) address such as http://127.0.0.1:8080");
        if (QueueCapacity < 1) throw new InvalidInputException($"--queue must be at least 1, got {QueueCapacity}");
        if (MaxBatch is < 1 or > 64) throw new InvalidInputException($"--max-batch must be between 1 and 64, got {MaxBatch}");
        if (MaxBodyBytes < 1024) throw new InvalidInputException($"--max-body-bytes must be at least 1024, got {MaxBodyBytes}");
        if (RequestTimeout <= TimeSpan.Zero) throw new InvalidInputException($"--timeout must be positive, got {RequestTimeout.TotalSeconds} s");
        if (DefaultMaxNewTokens < 1 || DefaultMaxNewTokens > MaxNewTokensLimit)
            throw new InvalidInputException($"the default answer length {DefaultMaxNewTokens} must be between 1 and the limit {MaxNewTokensLimit}");
        if (ApiKey is { Length: 0 }) throw new InvalidInputException("--api-key is empty");
    }
}
