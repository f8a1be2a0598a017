using Spectre.Console;

namespace PicSharp.Cli.Commands;

/// <summary>
/// How a training command shows its steps: a live progress bar on a terminal, or a time-stamped line every
/// `logEvery` steps when the output goes to a file (background runs, CI). Speed and ETA come from the last steps.
/// </summary>
sealed class TrainingProgress(int totalSteps, int logEvery)
{
    readonly ThroughputWindow throughput = new();
    Action<int, string> show = (_, _) => { };
    bool live;

    /// <summary>Reports a finished step with the recipe's own summary (loss, learning rate, ...).</summary>
    public void Step(int step, long tokens, double seconds, string summary)
    {
        throughput.Add(tokens, seconds);
        show(step, $"step {step}/{totalSteps} {summary} {throughput.SecondsPerStep:F2} s/step {throughput.TokensPerSecond:F0} tok/s " +
            $"eta {throughput.Eta(totalSteps - step)}");
    }

    /// <summary>A line between steps (an evaluation, a checkpoint), above the bar on a terminal.</summary>
    public void Note(string message)
    {
        if (live) AnsiConsole.MarkupLineInterpolated($"[grey]{message}[/]");
        else Log(message);
    }

    /// <summary>Runs the training <paramref name="body"/>, which started at <paramref name="startStep"/>, under the display.</summary>
    public T Run<T>(int startStep, Func<T> body)
    {
        if (Console.IsOutputRedirected)
        {
            show = (step, text) => { if (step % logEvery == 0 || step == totalSteps) Log(text); };
            return body();
        }
        T result = default!;
        live = true;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask("starting", maxValue: totalSteps);
                task.Value = startStep;
                show = (step, text) => { task.Value = step; task.Description = Markup.Escape(text); };
                result = body();
            });
        live = false;
        return result;
    }

    public static void Log(string message) => Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {message}");
}
