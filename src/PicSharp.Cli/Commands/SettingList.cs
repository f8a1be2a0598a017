using System.CommandLine;
using System.Linq.Expressions;
using System.Text.RegularExpressions;
using PicSharp.Storage;
using PicSharp.Training;

namespace PicSharp.Cli.Commands;

/// <summary>
/// The settings of an options record that a training command exposes, each declared once (<see cref="Setting{TOptions}"/>),
/// in the order of its help. The command's options, their defaults (the record's), the record a command line makes, the
/// resume guard and validation messages in flag terms all come from this list.
/// </summary>
sealed class SettingList<TOptions>(TOptions defaults) where TOptions : ITrainingRunOptions<TOptions>
{
    readonly List<Setting<TOptions>> settings = [];

    public IReadOnlyList<Setting<TOptions>> All => settings;
    public IReadOnlyList<Option> Options => [.. settings.Select(s => s.Option)];

    /// <summary>The option of the setting <paramref name="flag"/>, for a command's own rules about it.</summary>
    public Option Flag(string flag) => settings.Single(s => s.Option.Name == flag).Option;

    /// <summary>A flag that takes the value of the field <paramref name="field"/> leads to.</summary>
    public Option<T> Add<T>(string flag, string? description, Expression<Func<TOptions, T>> field, Func<TOptions, T, TOptions> write) =>
        Add(flag, description, FieldPath(field), field.Compile(), write);

    /// <summary>A flag whose value the record holds converted (a list as comma-separated names, a policy by its
    /// name, ...); <paramref name="field"/> is the name validation gives it, if any.</summary>
    public Option<T> Add<T>(string flag, string? description, string? field, Func<TOptions, T> read, Func<TOptions, T, TOptions> write)
    {
        var setting = new Setting<TOptions, T>(flag, description, field, defaults, read, write);
        settings.Add(setting);
        return setting.Option;
    }

    /// <summary>An enum field, named in kebab case (key-values, vocab-mean) on the command line.</summary>
    public Option<string> AddKebab<TEnum>(string flag, string? description, Expression<Func<TOptions, TEnum>> field, Func<TOptions, TEnum, TOptions> write)
        where TEnum : struct, Enum
    {
        var read = field.Compile();
        var option = Add(flag, description, FieldPath(field), o => KebabCase.Name(read(o)), (o, name) => write(o, KebabCase.Parse<TEnum>(flag, name)));
        // Help lists the names; an unknown one is refused by KebabCase.Parse in one line rather than by the parser's usage text.
        option.HelpName = KebabCase.Names<TEnum>("|");
        return option;
    }

    /// <summary>The record a command line makes: the defaults with every setting's value written in.</summary>
    public TOptions Read(ParseResult parse) => settings.Aggregate(defaults, (options, setting) => setting.Write(options, parse));

    /// <summary>The settings <paramref name="parse"/> gives explicitly, to hold a resumed run to.</summary>
    public GivenSettings<TOptions> Given(ParseResult parse) => new([.. settings.Where(s => parse.GetResult(s.Option) is { Implicit: false })], this);

    /// <summary>Validates <paramref name="options"/>, its message in flag terms.</summary>
    public void Validate(TOptions options)
    {
        try { options.Validate(); }
        catch (TrainingException e) { throw new InvalidInputException(InFlags(e.Message)); }
    }

    /// <summary><paramref name="message"/> with each field it names replaced by the flag that sets it.</summary>
    public string InFlags(string message)
    {
        // Longest first, and whole names only: LearningRate must not bite into MemoryLearningRate or LearningRate.Peak.
        foreach (var setting in settings.Where(s => s.Field is not null).OrderByDescending(s => s.Field!.Length))
            message = Regex.Replace(message, $@"(?<![\w.]){Regex.Escape(setting.Field!)}(?!\w|\.\w)", setting.Option.Name);
        return message;
    }

    /// <summary>The member path of <paramref name="field"/>'s body: o => o.Compressor.Ratio is "Compressor.Ratio".</summary>
    public static string FieldPath(LambdaExpression field)
    {
        var names = new Stack<string>();
        for (var node = field.Body; node is MemberExpression member; node = member.Expression) names.Push(member.Member.Name);
        return string.Join('.', names);
    }
}
