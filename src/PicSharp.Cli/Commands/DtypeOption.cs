using System.CommandLine;
using PicSharp.Modeling;
using static TorchSharp.torch;

namespace PicSharp.Cli.Commands;

/// <summary>
/// A dtype option (`--dtype`, `--export-dtype`) in the one vocabulary of every command: HF's torch_dtype names
/// (float32, bfloat16, float16), as config.json writes them; <see cref="DtypeNames"/> reads fp32, bf16 and fp16 as the
/// same names, so older scripts keep working, but help and output only use the HF names.
/// </summary>
sealed class DtypeOption
{
    readonly ScalarType[] choices;

    /// <param name="defaultDtype">null: the option is optional and its absence means "the command's own default"
    /// (e.g. the folder's torch_dtype), which <paramref name="description"/> should name.</param>
    public DtypeOption(string name, string description, ScalarType[] choices, ScalarType? defaultDtype = null)
    {
        this.choices = choices;
        Option = new Option<string?>(name) { Description = $"{Names(choices)}: {description}" };
        if (defaultDtype is ScalarType d) Option.DefaultValueFactory = _ => ModelFolder.TorchDtypeName(d);
    }

    public Option<string?> Option { get; }

    /// <summary>`--dtype` of the commands that run a model folder: the dtype its weights are loaded and computed in.</summary>
    public static DtypeOption ForModel(ScalarType? defaultDtype) => new("--dtype",
        $"weights and compute (default: {(defaultDtype is ScalarType d ? ModelFolder.TorchDtypeName(d) : "the folder's torch_dtype")})",
        [ScalarType.Float32, ScalarType.BFloat16], defaultDtype);

    /// <summary>The dtype given (or the default), null when the option is absent and has no default.</summary>
    public ScalarType? Value(ParseResult parse)
    {
        if (parse.GetValue(Option) is not string given) return null;
        string name = Name(Option.Name, given, choices);
        return choices.First(dtype => ModelFolder.TorchDtypeName(dtype) == name);
    }

    /// <summary>"float32 | bfloat16", as help texts list the choices.</summary>
    public static string Names(ScalarType[] choices) => string.Join(" | ", choices.Select(ModelFolder.TorchDtypeName));

    /// <summary>The HF name of <paramref name="given"/>, or a refusal naming <paramref name="flag"/> unless it is one of <paramref name="choices"/>.</summary>
    public static string Name(string flag, string given, ScalarType[] choices)
    {
        string name = DtypeNames.Canonical(given);
        return choices.Any(dtype => ModelFolder.TorchDtypeName(dtype) == name)
            ? name
            : throw new InvalidInputException($"{flag} '{given}' is not one of {string.Join(", ", choices.Select(ModelFolder.TorchDtypeName))}");
    }
}
