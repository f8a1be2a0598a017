using PicSharp.Training;

namespace PicSharp.Cli.Commands;

/// <summary>
/// The settings one command line gave explicitly: what `--resume` must not silently ignore. A resumed run trains with
/// its checkpoint's options, so a setting given with another value than the checkpoint's is refused, naming both
/// values; settings left at their defaults are not "given" and never conflict, and neither do the intervals a resume
/// may change.
/// </summary>
sealed class GivenSettings<TOptions>(IReadOnlyList<Setting<TOptions>> given, SettingList<TOptions> all) where TOptions : ITrainingRunOptions<TOptions>
{
    /// <summary>The checkpoint's options with the intervals of <paramref name="requested"/>, unless a given setting contradicts them.</summary>
    /// <param name="restart">how to train differently instead, e.g. "start a new run from RUN/checkpoint with --model".</param>
    public TOptions Resume(TOptions requested, TOptions saved, string restart)
    {
        var resumed = saved.WithIntervalsOf(requested);
        var differing = given.Where(s => !Equals(s.Read(requested), s.Read(resumed)))
            .Select(s => $"{s.Option.Name} {s.Read(requested)} (checkpoint: {s.Read(resumed)})").ToList();
        if (differing.Count > 0)
            throw new InvalidInputException($"--resume continues with the checkpoint's training options, which these contradict: " +
                $"{string.Join(", ", differing)}; leave them out, or {restart}");
        return resumed;
    }

    /// <summary>Validates <paramref name="options"/>, its message in flag terms.</summary>
    public void Validate(TOptions options) => all.Validate(options);
}
