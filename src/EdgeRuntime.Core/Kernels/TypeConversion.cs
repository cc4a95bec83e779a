using System.Runtime.InteropServices;
using EdgeRuntime.Core.Tensors;

namespace EdgeRuntime.Core.Kernels;

/// <summary>Element conversions from stored weight types to f32.</summary>
/// <remarks>Stateless; safe from any thread.</remarks>
public static unsafe class TypeConversion
{
    /// <summary>Decodes <c>destination.Length</c> elements of <paramref name="type"/> at <paramref name="source"/>.</summary>
    public static void ToF32(DType type, void* source, Span<float> destination)
    {
        int n = destination.Length;
        switch (type)
        {
            case DType.F32:
                new ReadOnlySpan<float>(source, n).CopyTo(destination);
                break;
            case DType.F16:
                System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(source, n), destination);
                break;
            case DType.BF16:
                BF16ToF32(new ReadOnlySpan<ushort>(source, n), destination);
                break;
            default:
                if (!QuantRegistry.TryDequantize(type, source, destination))
                    throw new NotSupportedException($"convert: no f32 decoder for {type}");
                break;
        }
    }

    /// <summary>bfloat16 is the top half of an f32: shift it back.</summary>
    public static void BF16ToF32(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        if (destination.Length < source.Length) ThrowHelper.TooShort(nameof(destination), destination.Length, source.Length);
        Span<uint> bits = MemoryMarshal.Cast<float, uint>(destination);
        for (int i = 0; i < source.Length; i++) bits[i] = (uint)source[i] << 16;
    }
}

/// <summary>Hook through which quantised block types (added by the quantisation code) register their dequantisers.</summary>
/// <remarks>Registration happens once at start-up; lookups are lock-free afterwards.</remarks>
public static unsafe class QuantRegistry
{
    private static readonly delegate*<void*, Span<float>, void>[] s_dequantizers = new delegate*<void*, Span<float>, void>[64];

    /// <summary>Registers the dequantiser of <paramref name="type"/>.</summary>
    public static void Register(DType type, delegate*<void*, Span<float>, void> dequantize) => s_dequantizers[(int)type] = dequantize;

    /// <summary>Dequantises if a decoder is registered.</summary>
    public static bool TryDequantize(DType type, void* source, Span<float> destination)
    {
        var f = (uint)type < (uint)s_dequantizers.Length ? s_dequantizers[(int)type] : null;
        if (f == null) return false;
        f(source, destination);
        return true;
    }
}
