using TorchSharp;
using static TorchSharp.torch;

namespace PicSharp.Modeling;

/// <summary>
/// One generated row's tokens, sampling generator, text and stopping state: when a row stops (stop token, stop string,
/// answer length, cancellation) and what it streams. Every decoding loop (TorchSharp's and llama.cpp's) feeds its
/// chosen tokens through one of these, so both engines stop and stream alike.
/// </summary>
sealed class GenerationRow(GenerationOptions options, int maxNewTokens, CancellationToken cancel, StreamingDecoder? text) : IDisposable
{
    readonly List<int> tokens = [];
    StopReason reason = StopReason.MaxNewTokens;

    public Generator Generator { get; } = new(options.Seed);
    public bool Done { get; private set; }

    public void Accept(int token, Action<int> onToken, Action<string> onText)
    {
        if (cancel.IsCancellationRequested) { Stop(StopReason.Cancelled); return; }
        if (options.StopTokenIds.Contains(token)) { Stop(StopReason.StopToken); return; }
        tokens.Add(token);
        onToken(token);
        if (text is not null)
        {
            if (text.Push(token) is { Length: > 0 } piece) onText(piece);
            if (text.Stopped) { Stop(StopReason.StopString); return; }
        }
        if (tokens.Count == maxNewTokens) Done = true;
    }

    void Stop(StopReason why)
    {
        reason = why;
        Done = true;
    }

    /// <summary>The text still held back at the end; a cancelled row's caller is gone and gets none.</summary>
    public string Finish() => text is null || reason == StopReason.Cancelled ? "" : text.Flush();

    public GenerationResult Result() => new(tokens, reason, text?.StopString, text?.Text);

    public void Dispose() => Generator.Dispose();
}
