using LLama.Native;

namespace PicSharp.LlamaCpp;

/// <summary>
/// Where llama.cpp's log goes: it reports every load and context in dozens of lines on standard error, which would
/// bury a command's own output; its warnings and errors are kept. Set once per process, before the native library loads.
/// </summary>
public static class LlamaCppLog
{
    static readonly Lock Gate = new();
    static bool configured;

    public static void Configure()
    {
        lock (Gate)
        {
            if (configured) return;
            NativeLibraryConfig.All.WithLogCallback((level, message) =>
            {
                if (level is LLamaLogLevel.Error or LLamaLogLevel.Warning) Console.Error.Write($"llama.cpp: {message}");
            });
            configured = true;
        }
    }
}
