using EdgeRuntime.Core.Tensors;

namespace EdgeRuntime.Core.Quant;

/// <summary>One row of the <see cref="QuantTraits"/> table (ggml <c>type_traits</c>).</summary>
/// <remarks>Immutable; safe from any thread.</remarks>
public readonly unsafe struct QuantTypeTraits
{
    /// <summary>Creates a row.</summary>
    public QuantTypeTraits(DType type, string name, int blockSize, int typeSize, bool isQuantized,
        delegate*<void*, Span<float>, void> dequantize, delegate*<ReadOnlySpan<float>, Span<byte>, void> quantize)
    {
        Type = type;
        Name = name;
        BlockSize = blockSize;
        TypeSize = typeSize;
        IsQuantized = isQuantized;
        Dequantize = dequantize;
        Quantize = quantize;
    }

    /// <summary>The element type.</summary>
    public DType Type { get; }

    /// <summary>ggml's lower-case name (<c>"q8_0"</c>).</summary>
    public string Name { get; }

    /// <summary>Values per block (1 for plain floats).</summary>
    public int BlockSize { get; }

    /// <summary>Bytes per block.</summary>
    public int TypeSize { get; }

    /// <summary>Whether values are block-quantized.</summary>
    public bool IsQuantized { get; }

    /// <summary>Decodes <c>destination.Length</c> values from <c>source</c>.</summary>
    public delegate*<void*, Span<float>, void> Dequantize { get; }

    /// <summary>Encodes <c>source.Length</c> values (a multiple of <see cref="BlockSize"/>) into <c>destination</c> with ggml's reference quantizer.</summary>
    public delegate*<ReadOnlySpan<float>, Span<byte>, void> Quantize { get; }

    /// <summary>Bytes of one row of <paramref name="columns"/> values (a multiple of <see cref="BlockSize"/>).</summary>
    public long RowBytes(long columns) => columns / BlockSize * TypeSize;
}

/// <summary>The static type table, indexed by <see cref="DType"/> (a new type is a new row).</summary>
/// <remarks>
/// <c>Dequantize(source, destination)</c> decodes <c>destination.Length</c> values; <c>Quantize(source, destination)</c>
/// encodes <c>source.Length</c> values (a multiple of the block size) into <c>destination</c> bytes with ggml's reference
/// quantizer. Immutable; safe from any thread.
/// </remarks>
public static unsafe class QuantTraits
{
    private static readonly QuantTypeTraits[] s_table = Build();
    private static readonly QuantTypeTraits[] s_byType = Index(s_table);

    /// <summary>Types that have a row.</summary>
    public static ReadOnlySpan<QuantTypeTraits> All => s_table;

    /// <summary>Whether <paramref name="type"/> has a row.</summary>
    public static bool IsKnown(DType type) => (uint)type < (uint)s_byType.Length && s_byType[(int)type].Name is not null;

    /// <summary>The row of <paramref name="type"/> (an array index by the ggml type id).</summary>
    /// <exception cref="NotSupportedException">No row for that type.</exception>
    public static ref readonly QuantTypeTraits Get(DType type)
    {
        if (!IsKnown(type)) throw new NotSupportedException($"quant: no traits for dtype {type}");
        return ref s_byType[(int)type];
    }

    private static QuantTypeTraits[] Index(QuantTypeTraits[] rows)
    {
        var byType = new QuantTypeTraits[rows.Max(r => (int)r.Type) + 1];
        foreach (var r in rows) byType[(int)r.Type] = r;
        return byType;
    }

    private static QuantTypeTraits[] Build() =>
    [
        new(DType.F32, "f32", 1, 4, false, &F32ToF32, &F32FromF32),
        new(DType.F16, "f16", 1, 2, false, &F16ToF32, &F16FromF32),
        new(DType.BF16, "bf16", 1, 2, false, &BF16ToF32, &BF16FromF32),
        new(DType.Q4_0, "q4_0", BlockQ4_0.BlockSize, BlockQ4_0.ByteSize, true, &BlockQ4_0.DequantizeRow, &Q4_0FromF32),
        new(DType.Q8_0, "q8_0", BlockQ8_0.BlockSize, BlockQ8_0.ByteSize, true, &BlockQ8_0.DequantizeRow, &Q8_0FromF32),
    ];

    private static void F32ToF32(void* source, Span<float> destination) => new ReadOnlySpan<float>(source, destination.Length).CopyTo(destination);

    private static void F16ToF32(void* source, Span<float> destination) =>
        System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(source, destination.Length), destination);

    private static void BF16ToF32(void* source, Span<float> destination) =>
        Kernels.TypeConversion.BF16ToF32(new ReadOnlySpan<ushort>(source, destination.Length), destination);

    private static void F32FromF32(ReadOnlySpan<float> source, Span<byte> destination) =>
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(source).CopyTo(destination);

    private static void F16FromF32(ReadOnlySpan<float> source, Span<byte> destination) =>
        System.Numerics.Tensors.TensorPrimitives.ConvertToHalf(source, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, Half>(destination));

    private static void BF16FromF32(ReadOnlySpan<float> source, Span<byte> destination)
    {
        // Round to nearest even on the upper 16 bits (PyTorch's float->bfloat16); NaN stays NaN.
        var dst = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(destination);
        if (dst.Length < source.Length) ThrowHelper.TooShort(nameof(destination), destination.Length, source.Length * 2);
        for (int i = 0; i < source.Length; i++)
        {
            uint bits = BitConverter.SingleToUInt32Bits(source[i]);
            dst[i] = float.IsNaN(source[i]) ? (ushort)((bits >> 16) | 0x40) : (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
        }
    }

    private static void Q8_0FromF32(ReadOnlySpan<float> source, Span<byte> destination) =>
        BlockQ8_0.Quantize(source, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, BlockQ8_0>(destination));

    private static void Q4_0FromF32(ReadOnlySpan<float> source, Span<byte> destination) =>
        BlockQ4_0.Quantize(source, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, BlockQ4_0>(destination));
}
