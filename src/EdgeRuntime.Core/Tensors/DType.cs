namespace EdgeRuntime.Core.Tensors;

/// <summary>Element types of stored weights; the numeric values are ggml's <c>ggml_type</c> ids so GGUF files map 1:1.</summary>
public enum DType
{
    /// <summary>32-bit IEEE float.</summary>
    F32 = 0,
    /// <summary>16-bit IEEE half.</summary>
    F16 = 1,
    /// <summary>ggml Q4_0: fp16 scale + 16 bytes of nibbles per 32 elements (18 bytes).</summary>
    Q4_0 = 2,
    /// <summary>ggml Q8_0: fp16 scale + 32 int8 per 32 elements (34 bytes).</summary>
    Q8_0 = 8,
    /// <summary>bfloat16.</summary>
    BF16 = 30,
}

/// <summary>Sizes of each <see cref="DType"/> (ggml <c>type_traits</c>: block size and bytes per block).</summary>
/// <remarks>Stateless; safe from any thread.</remarks>
public static class DTypeInfo
{
    /// <summary>Elements per block (1 for plain floats).</summary>
    public static int BlockSize(DType type) => type switch
    {
        DType.F32 or DType.F16 or DType.BF16 => 1,
        DType.Q4_0 or DType.Q8_0 => 32,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown dtype"),
    };

    /// <summary>Bytes per block.</summary>
    public static int TypeSize(DType type) => type switch
    {
        DType.F32 => 4,
        DType.F16 or DType.BF16 => 2,
        DType.Q4_0 => 18,
        DType.Q8_0 => 34,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown dtype"),
    };

    /// <summary>Bytes needed for <paramref name="elements"/> elements (which must be a whole number of blocks).</summary>
    public static long ByteCount(DType type, long elements) => elements / BlockSize(type) * TypeSize(type);
}
