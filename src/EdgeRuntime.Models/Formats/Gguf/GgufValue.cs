using System.Globalization;

namespace EdgeRuntime.Models.Formats.Gguf;

/// <summary>One GGUF metadata value: a scalar, a string, or a typed array (arrays may hold arrays).</summary>
/// <remarks>
/// <see cref="Value"/> is the boxed scalar (<c>byte, sbyte, ushort, short, uint, int, float, bool, ulong, long, double</c>),
/// a <c>string</c>, or for arrays a typed CLR array of those (<c>uint[]</c>, <c>string[]</c>, ...) or, for arrays of arrays,
/// <c>GgufValue[]</c>. Immutable (callers must not mutate the arrays they pass in or read out); safe to share.
/// </remarks>
public sealed class GgufValue
{
    private GgufValue(GgufValueType type, GgufValueType elementType, object value)
    {
        Type = type;
        ElementType = elementType;
        Value = value;
    }

    /// <summary>The value's type (<see cref="GgufValueType.Array"/> for arrays).</summary>
    public GgufValueType Type { get; }

    /// <summary>For arrays the element type; for scalars the same as <see cref="Type"/>.</summary>
    public GgufValueType ElementType { get; }

    /// <summary>The boxed scalar, string or typed array.</summary>
    public object Value { get; }

    /// <summary>Whether this is an array.</summary>
    public bool IsArray => Type == GgufValueType.Array;

    /// <summary>Element count of an array (1 for scalars).</summary>
    public int Count => Value is System.Array a ? a.Length : 1;

    /// <summary>The type's name as the spec writes it (<c>uint32</c>, <c>array[string]</c>).</summary>
    public string TypeName => IsArray ? $"array[{TypeNameOf(ElementType)}]" : TypeNameOf(Type);

    /// <summary>Spec name of a value type.</summary>
    public static string TypeNameOf(GgufValueType type) => type switch
    {
        GgufValueType.UInt8 => "uint8",
        GgufValueType.Int8 => "int8",
        GgufValueType.UInt16 => "uint16",
        GgufValueType.Int16 => "int16",
        GgufValueType.UInt32 => "uint32",
        GgufValueType.Int32 => "int32",
        GgufValueType.Float32 => "float32",
        GgufValueType.Bool => "bool",
        GgufValueType.String => "string",
        GgufValueType.Array => "array",
        GgufValueType.UInt64 => "uint64",
        GgufValueType.Int64 => "int64",
        GgufValueType.Float64 => "float64",
        _ => $"type {(uint)type}",
    };

    /// <summary>Bytes of one fixed-size element, or 0 for strings and arrays.</summary>
    internal static int FixedSize(GgufValueType type) => type switch
    {
        GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
        GgufValueType.UInt16 or GgufValueType.Int16 => 2,
        GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
        GgufValueType.UInt64 or GgufValueType.Int64 or GgufValueType.Float64 => 8,
        _ => 0,
    };

#pragma warning disable CS1591 // one factory per spec type; names say it all.
    public static GgufValue UInt8(byte v) => new(GgufValueType.UInt8, GgufValueType.UInt8, v);
    public static GgufValue Int8(sbyte v) => new(GgufValueType.Int8, GgufValueType.Int8, v);
    public static GgufValue UInt16(ushort v) => new(GgufValueType.UInt16, GgufValueType.UInt16, v);
    public static GgufValue Int16(short v) => new(GgufValueType.Int16, GgufValueType.Int16, v);
    public static GgufValue UInt32(uint v) => new(GgufValueType.UInt32, GgufValueType.UInt32, v);
    public static GgufValue Int32(int v) => new(GgufValueType.Int32, GgufValueType.Int32, v);
    public static GgufValue Float32(float v) => new(GgufValueType.Float32, GgufValueType.Float32, v);
    public static GgufValue Bool(bool v) => new(GgufValueType.Bool, GgufValueType.Bool, v);
    public static GgufValue String(string v) => new(GgufValueType.String, GgufValueType.String, v ?? throw new ArgumentNullException(nameof(v)));
    public static GgufValue UInt64(ulong v) => new(GgufValueType.UInt64, GgufValueType.UInt64, v);
    public static GgufValue Int64(long v) => new(GgufValueType.Int64, GgufValueType.Int64, v);
    public static GgufValue Float64(double v) => new(GgufValueType.Float64, GgufValueType.Float64, v);

    public static GgufValue Array(byte[] v) => Arr(GgufValueType.UInt8, v);
    public static GgufValue Array(sbyte[] v) => Arr(GgufValueType.Int8, v);
    public static GgufValue Array(ushort[] v) => Arr(GgufValueType.UInt16, v);
    public static GgufValue Array(short[] v) => Arr(GgufValueType.Int16, v);
    public static GgufValue Array(uint[] v) => Arr(GgufValueType.UInt32, v);
    public static GgufValue Array(int[] v) => Arr(GgufValueType.Int32, v);
    public static GgufValue Array(float[] v) => Arr(GgufValueType.Float32, v);
    public static GgufValue Array(bool[] v) => Arr(GgufValueType.Bool, v);
    public static GgufValue Array(ulong[] v) => Arr(GgufValueType.UInt64, v);
    public static GgufValue Array(long[] v) => Arr(GgufValueType.Int64, v);
    public static GgufValue Array(double[] v) => Arr(GgufValueType.Float64, v);

    public static GgufValue Array(string[] v)
    {
        ArgumentNullException.ThrowIfNull(v);
        foreach (var s in v) ArgumentNullException.ThrowIfNull(s, nameof(v));
        return Arr(GgufValueType.String, v);
    }

    /// <summary>An array whose elements are arrays (each with its own element type).</summary>
    public static GgufValue Array(GgufValue[] arrays)
    {
        ArgumentNullException.ThrowIfNull(arrays);
        foreach (var a in arrays)
            if (a is null || !a.IsArray) throw new ArgumentException("gguf: every element of an array of arrays must be an array", nameof(arrays));
        return Arr(GgufValueType.Array, arrays);
    }
#pragma warning restore CS1591

    private static GgufValue Arr(GgufValueType element, System.Array values) =>
        new(GgufValueType.Array, element, values ?? throw new ArgumentNullException(nameof(values)));

    /// <summary>Short text for listings: scalars in full (strings quoted), arrays as <c>array[uint32] × 4: [1, 0, 0, 0]</c>
    /// with at most <paramref name="maxItems"/> items.</summary>
    public string ToDisplayString(int maxItems = 8)
    {
        if (!IsArray) return Type == GgufValueType.String ? Quote((string)Value) : ScalarText(Value);
        var a = (System.Array)Value;
        var items = new List<string>();
        for (int i = 0; i < Math.Min(a.Length, maxItems); i++)
        {
            object item = a.GetValue(i)!;
            items.Add(item switch
            {
                string s => Quote(s),
                GgufValue v => v.ToDisplayString(maxItems),
                _ => ScalarText(item),
            });
        }
        return $"{TypeName} × {a.Length}: [{string.Join(", ", items)}{(a.Length > maxItems ? ", …" : "")}]";
    }

    /// <inheritdoc />
    public override string ToString() => ToDisplayString();

    private static string Quote(string s) => "\"" + (s.Length > 64 ? s[..64] + "…" : s) + "\"";

    private static string ScalarText(object v) => v switch
    {
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => v.ToString() ?? "",
    };
}
