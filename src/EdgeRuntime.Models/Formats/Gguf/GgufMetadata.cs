using System.Collections;

namespace EdgeRuntime.Models.Formats.Gguf;

/// <summary>The key-value metadata of a GGUF file, in file order, with typed getters.</summary>
/// <remarks>
/// Getters are strict: a missing key and a key of another type are different <see cref="ModelConfigException"/>s naming the
/// key, both types and the file (<c>gguf: metadata key 'based.n_embd': expected uint32, got string in '…'</c>).
/// <see cref="GetInteger"/> is the one lenient getter: it accepts any integer type (the spec recommends readers take both
/// uint32 and uint64 for counts). Immutable; safe to read from several threads.
/// </remarks>
public sealed class GgufMetadata : IReadOnlyCollection<KeyValuePair<string, GgufValue>>
{
    private readonly List<KeyValuePair<string, GgufValue>> _items;
    private readonly Dictionary<string, GgufValue> _byKey;

    internal GgufMetadata(string source, List<KeyValuePair<string, GgufValue>> items)
    {
        Source = source;
        _items = items;
        _byKey = new Dictionary<string, GgufValue>(items.Count, StringComparer.Ordinal);
        foreach (var (k, v) in items) _byKey.Add(k, v);
    }

    /// <summary>The file the metadata came from, for messages.</summary>
    public string Source { get; }

    /// <inheritdoc />
    public int Count => _items.Count;

    /// <summary>Keys in file order.</summary>
    public IEnumerable<string> Keys => _items.Select(kv => kv.Key);

    /// <summary>Whether <paramref name="key"/> exists.</summary>
    public bool Contains(string key) => _byKey.ContainsKey(key);

    /// <summary>The value of <paramref name="key"/>, or null.</summary>
    public GgufValue? Find(string key) => _byKey.GetValueOrDefault(key);

    /// <summary>The value of <paramref name="key"/>.</summary>
    /// <exception cref="ModelConfigException">Missing.</exception>
    public GgufValue Get(string key) =>
        _byKey.TryGetValue(key, out var v) ? v : throw new ModelConfigException($"gguf: metadata key '{key}' is missing in '{Source}'");

#pragma warning disable CS1591 // typed getters: each throws ModelConfigException when the key is missing or of another type.
    public string GetString(string key) => (string)Scalar(key, GgufValueType.String);
    public uint GetUInt32(string key) => (uint)Scalar(key, GgufValueType.UInt32);
    public int GetInt32(string key) => (int)Scalar(key, GgufValueType.Int32);
    public ulong GetUInt64(string key) => (ulong)Scalar(key, GgufValueType.UInt64);
    public long GetInt64(string key) => (long)Scalar(key, GgufValueType.Int64);
    public float GetFloat32(string key) => (float)Scalar(key, GgufValueType.Float32);
    public double GetFloat64(string key) => (double)Scalar(key, GgufValueType.Float64);
    public bool GetBool(string key) => (bool)Scalar(key, GgufValueType.Bool);
    public string[] GetStringArray(string key) => (string[])ArrayOf(key, GgufValueType.String);
    public uint[] GetUInt32Array(string key) => (uint[])ArrayOf(key, GgufValueType.UInt32);
    public int[] GetInt32Array(string key) => (int[])ArrayOf(key, GgufValueType.Int32);
    public float[] GetFloat32Array(string key) => (float[])ArrayOf(key, GgufValueType.Float32);
    public bool[] GetBoolArray(string key) => (bool[])ArrayOf(key, GgufValueType.Bool);
#pragma warning restore CS1591

    /// <summary>Any integer-typed value as a long.</summary>
    /// <exception cref="ModelConfigException">Missing, not an integer, or a uint64 above <see cref="long.MaxValue"/>.</exception>
    public long GetInteger(string key)
    {
        var v = Get(key);
        return v.Value switch
        {
            byte x when !v.IsArray => x,
            sbyte x when !v.IsArray => x,
            ushort x when !v.IsArray => x,
            short x when !v.IsArray => x,
            uint x when !v.IsArray => x,
            int x when !v.IsArray => x,
            long x when !v.IsArray => x,
            ulong x when !v.IsArray && x <= long.MaxValue => (long)x,
            _ => throw WrongType(key, "an integer", v),
        };
    }

    private object Scalar(string key, GgufValueType type)
    {
        var v = Get(key);
        if (v.Type != type) throw WrongType(key, GgufValue.TypeNameOf(type), v);
        return v.Value;
    }

    private object ArrayOf(string key, GgufValueType element)
    {
        var v = Get(key);
        if (!v.IsArray || v.ElementType != element) throw WrongType(key, $"array[{GgufValue.TypeNameOf(element)}]", v);
        return v.Value;
    }

    private ModelConfigException WrongType(string key, string expected, GgufValue actual) =>
        new($"gguf: metadata key '{key}': expected {expected}, got {actual.TypeName} in '{Source}'");

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, GgufValue>> GetEnumerator() => _items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
