using LLama.Native;

namespace PicSharp.LlamaCpp;

/// <summary>
/// Where llama.cpp's log goes: it reports every load and context in dozens of lines on standard error, which would
/// bury a command's own output; its warnings and errors are kept, but for <see cref="EosNotEndOfGeneration"/>. Set
/// once per process, before the native library loads.
/// </summary>
public static class LlamaCppLog
{
    /// <summary>
    /// llama.cpp's warning on every PicSharp export: it finds no end-of-generation tokens by name and adds the EOS id
    /// itself. It tells a PicSharp user nothing (answers stop on PicSharp's own stop tokens and strings), so it is dropped.
    /// </summary>
    public const string EosNotEndOfGeneration = "special_eos_id is not in special_eog_ids";

    static readonly Lock Gate = new();
    static bool configured;

    public static void Configure()
    {
        lock (Gate)
        {
            if (configured) return;
            NativeLibraryConfig.All.WithLogCallback((level, message) =>
            {
                if (level is LLamaLogLevel.Error or LLamaLogLevel.Warning && !message.Contains(EosNotEndOfGeneration, StringComparison.Ordinal))
                    Console.Error.Write($"llama.cpp: {message}");
            });
            configured = true;
        }
    }
}
