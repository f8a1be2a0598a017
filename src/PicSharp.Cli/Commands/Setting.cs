using System.CommandLine;

namespace PicSharp.Cli.Commands;

/// <summary>
/// One setting of an options record as a command-line option, declared once in a <see cref="SettingList{TOptions}"/>:
/// its flag and help, its default (the record's), how the parsed value goes into the record and how the record's value
/// reads back in the flag's terms (what the resume guard compares), and the record field validation names it by.
/// </summary>
abstract class Setting<TOptions>
{
    protected Setting(string? field) => Field = field;

    public abstract Option Option { get; }
    /// <summary>The record's field as the library's validation names it ("LearningRate", "Compressor.Ratio"); null
    /// when validation never names this setting alone.</summary>
    public string? Field { get; }
    /// <summary>The value <paramref name="options"/> holds, as the flag would give it.</summary>
    public abstract object? Read(TOptions options);
    /// <summary><paramref name="options"/> with this setting's value from <paramref name="parse"/>.</summary>
    public abstract TOptions Write(TOptions options, ParseResult parse);
}

/// <summary>A setting whose flag takes a <typeparamref name="TValue"/>.</summary>
sealed class Setting<TOptions, TValue> : Setting<TOptions>
{
    readonly Option<TValue> option;
    readonly Func<TOptions, TValue> read;
    readonly Func<TOptions, TValue, TOptions> write;

    /// <param name="defaults">the record's defaults; the flag's default is their value, except that a nullable flag
    /// has none (absent means the record's own rule, e.g. "the LoRA rate").</param>
    public Setting(string flag, string? description, string? field, TOptions defaults, Func<TOptions, TValue> read, Func<TOptions, TValue, TOptions> write)
        : base(field)
    {
        this.read = read;
        this.write = write;
        option = new Option<TValue>(flag) { Description = description };
        var defaultValue = read(defaults);
        if (Nullable.GetUnderlyingType(typeof(TValue)) is null) option.DefaultValueFactory = _ => defaultValue;
    }

    public override Option<TValue> Option => option;
    public override object? Read(TOptions options) => read(options);
    public override TOptions Write(TOptions options, ParseResult parse) => write(options, parse.GetValue(option)!);
}
