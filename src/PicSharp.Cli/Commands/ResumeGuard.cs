using System.CommandLine;

namespace PicSharp.Cli.Commands;

/// <summary>
/// What `--resume` must not silently ignore. The options that decide a run's trajectory come from its checkpoint, so
/// one given on the command line with another value than the checkpoint's is refused, naming both values. Options left
/// at their defaults are not "given" and never conflict.
/// </summary>
sealed class ResumeGuard<TOptions>((Option Option, Func<TOptions, object> Value)[] trajectory)
{
    /// <summary>The trajectory options <paramref name="parse"/> gives explicitly, to check once the checkpoint is read.</summary>
    public Given For(ParseResult parse) =>
        new([.. trajectory.Where(t => parse.GetResult(t.Option) is { Implicit: false }).Select(t => (t.Option.Name, t.Value))]);

    public sealed record Given(IReadOnlyList<(string Name, Func<TOptions, object> Value)> Options)
    {
        /// <summary>Throws unless every given option has the checkpoint's value in <paramref name="requested"/>.</summary>
        /// <param name="restart">how to train differently instead, e.g. "start a new run from RUN/checkpoint with --model".</param>
        public void RequireMatch(TOptions requested, TOptions saved, string restart)
        {
            var differing = Options.Where(o => !Equals(o.Value(requested), o.Value(saved)))
                .Select(o => $"{o.Name} {o.Value(requested)} (checkpoint: {o.Value(saved)})").ToList();
            if (differing.Count > 0)
                throw new InvalidInputException($"--resume continues with the checkpoint's training options, which these contradict: " +
                    $"{string.Join(", ", differing)}; leave them out, or {restart}");
        }
    }
}
