namespace PicSharp.Gguf;

/// <summary>
/// One metadata value: a scalar (boxed CLR value of the matching type: byte, sbyte, ushort, short, uint, int, float,
/// bool, string, ulong, long, double) or an array of one element type (a CLR array of that type). Arrays of arrays,
/// which llama.cpp does not read either, are not supported.
/// </summary>
public sealed class GgufValue
{
    static readonly Dictionary<GgufValueType, Type> ClrTypes = new()
    {
        [GgufValueType.UInt8] = typeof(byte), [GgufValueType.Int8] = typeof(sbyte),
        [GgufValueType.UInt16] = typeof(ushort), [GgufValueType.Int16] = typeof(short),
        [GgufValueType.UInt32] = typeof(uint), [GgufValueType.Int32] = typeof(int),
        [GgufValueType.Float32] = typeof(float), [GgufValueType.Bool] = typeof(bool),
        [GgufValueType.String] = typeof(string), [GgufValueType.UInt64] = typeof(ulong),
        [GgufValueType.Int64] = typeof(long), [GgufValueType.Float64] = typeof(double),
    };

    /// <summary>The value's type; <see cref="GgufValueType.Array"/> for arrays (see <see cref="ElementType"/>).</summary>
    public GgufValueType Type { get; }
    /// <summary>For arrays, the type of every element.</summary>
    public GgufValueType? ElementType { get; }
    public object Value { get; }

    GgufValue(GgufValueType type, GgufValueType? elementType, object value)
    {
        (Type, ElementType, Value) = (type, elementType, value);
    }

    /// <summary>A scalar of <paramref name="type"/>; <paramref name="value"/> must be of its CLR type.</summary>
    public static GgufValue Scalar(GgufValueType type, object value)
    {
        if (!ClrTypes.TryGetValue(type, out var clr)) throw new ArgumentException($"{type} is not a scalar GGUF type");
        if (value.GetType() != clr) throw new ArgumentException($"a GGUF {type} holds a {clr.Name}, not a {value.GetType().Name}");
        return new GgufValue(type, null, value);
    }

    /// <summary>An array of <paramref name="elementType"/>; <paramref name="values"/> must be an array of its CLR type.</summary>
    public static GgufValue Array(GgufValueType elementType, System.Array values)
    {
        if (!ClrTypes.TryGetValue(elementType, out var clr)) throw new ArgumentException($"arrays of {elementType} are not supported");
        if (values.GetType().GetElementType() != clr || values.Rank != 1)
            throw new ArgumentException($"a GGUF array of {elementType} holds {clr.Name}[], not {values.GetType().Name}");
        return new GgufValue(GgufValueType.Array, elementType, values);
    }

    public static GgufValue Of(string value) => Scalar(GgufValueType.String, value);
    public static GgufValue Of(uint value) => Scalar(GgufValueType.UInt32, value);
    public static GgufValue Of(int value) => Scalar(GgufValueType.Int32, value);
    public static GgufValue Of(float value) => Scalar(GgufValueType.Float32, value);
    public static GgufValue Of(bool value) => Scalar(GgufValueType.Bool, value);
    public static GgufValue Of(string[] values) => Array(GgufValueType.String, values);
    public static GgufValue Of(int[] values) => Array(GgufValueType.Int32, values);
    public static GgufValue Of(float[] values) => Array(GgufValueType.Float32, values);

    public static Type ClrType(GgufValueType type) => ClrTypes[type];

    public bool IsArray => Type == GgufValueType.Array;
    public int Count => Value is System.Array array ? array.Length : 1;

    /// <summary>An unsigned or signed integer scalar as a long (ids, counts, lengths may be stored in any width).</summary>
    public long AsInteger() => Value switch
    {
        byte v => v, sbyte v => v, ushort v => v, short v => v, uint v => v, int v => v, long v => v,
        ulong v when v <= long.MaxValue => (long)v,
        _ => throw new InvalidCastException($"a GGUF {Type} is not an integer"),
    };

    /// <summary>A float scalar (float32 or float64) as a double.</summary>
    public double AsReal() => Value switch
    {
        float v => v, double v => v,
        _ => throw new InvalidCastException($"a GGUF {Type} is not a floating-point number"),
    };

    /// <summary>Same type and same contents (element by element for arrays; NaN equals NaN bit for bit).</summary>
    public bool SameAs(GgufValue other)
    {
        if (Type != other.Type || ElementType != other.ElementType) return false;
        if (Value is System.Array a && other.Value is System.Array b)
            return a.Length == b.Length && Enumerable.Range(0, a.Length).All(i => SameScalar(a.GetValue(i)!, b.GetValue(i)!));
        return SameScalar(Value, other.Value);
    }

    static bool SameScalar(object a, object b) => (a, b) switch
    {
        (float x, float y) => BitConverter.SingleToInt32Bits(x) == BitConverter.SingleToInt32Bits(y),
        (double x, double y) => BitConverter.DoubleToInt64Bits(x) == BitConverter.DoubleToInt64Bits(y),
        _ => a.Equals(b),
    };

    public override string ToString() => Value switch
    {
        string s => s,
        System.Array a => $"[{ElementType} × {a.Length}]",
        _ => Convert.ToString(Value, System.Globalization.CultureInfo.InvariantCulture) ?? "",
    };
}
