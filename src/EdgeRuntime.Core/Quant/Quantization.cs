using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using EdgeRuntime.Core.Kernels;
using EdgeRuntime.Core.Tensors;

namespace EdgeRuntime.Core.Quant;

/// <summary>Connects the quantized block types to the kernels: dequantizers into <see cref="QuantRegistry"/>, mat-vec and
/// prefill kernels into <see cref="MatVecRegistry"/>; plus whole-row quantize/dequantize by <see cref="DType"/>.</summary>
/// <remarks>
/// <see cref="Register"/> runs from this assembly's module initializer, so any program that touches EdgeRuntime.Core has
/// the kernels; calling it again is harmless (weight sources call it explicitly for clarity). Thread-safe.
/// </remarks>
public static unsafe class Quantization
{
    private static int s_registered;

    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255:The 'ModuleInitializer' attribute should not be used in libraries",
        Justification = "Registers kernel function pointers (no I/O, no allocation of note) so quantized WeightMatrix works without set-up calls.")]
    internal static void Initialize() => Register();

    /// <summary>Registers the Q8_0 and Q4_0 dequantizers and kernels (idempotent).</summary>
    public static void Register()
    {
        if (Interlocked.Exchange(ref s_registered, 1) == 1) return;
        QuantRegistry.Register(DType.Q8_0, &BlockQ8_0.DequantizeRow);
        QuantRegistry.Register(DType.Q4_0, &BlockQ4_0.DequantizeRow);
        MatVecRegistry.Register(DType.Q8_0, &MatVecQ8_0.Rows);
        MatVecRegistry.Register(DType.Q4_0, &MatVecQ4_0.Rows);
        MatVecRegistry.RegisterQuantized(DType.Q8_0, &MatVecQ8_0.QuantizedRows);
        MatVecRegistry.RegisterQuantized(DType.Q4_0, &MatVecQ4_0.QuantizedRows);
        MatVecRegistry.RegisterMatMul(DType.Q8_0, &MatVecQ8_0.MatMulRows);
        MatVecRegistry.RegisterMatMul(DType.Q4_0, &MatVecQ4_0.MatMulRows);
    }

    /// <summary>Encodes <paramref name="source"/> as <paramref name="type"/> into <paramref name="destination"/>
    /// (<see cref="QuantTypeTraits.RowBytes"/> bytes) with ggml's reference quantizer.</summary>
    /// <exception cref="ArgumentException">Lengths do not fit the type.</exception>
    /// <exception cref="NotSupportedException">Unknown type.</exception>
    public static void Quantize(DType type, ReadOnlySpan<float> source, Span<byte> destination)
    {
        ref readonly var t = ref QuantTraits.Get(type);
        if (source.Length % t.BlockSize != 0) ThrowHelper.OutOfRange(nameof(source), source.Length, $"a multiple of {t.BlockSize}");
        long bytes = t.RowBytes(source.Length);
        if (destination.Length < bytes) ThrowHelper.TooShort(nameof(destination), destination.Length, (int)bytes);
        t.Quantize(source, destination[..(int)bytes]);
    }

    /// <summary>Decodes <c>destination.Length</c> values of <paramref name="type"/> from <paramref name="source"/>.</summary>
    /// <exception cref="ArgumentException">Lengths do not fit the type.</exception>
    /// <exception cref="NotSupportedException">Unknown type.</exception>
    public static void Dequantize(DType type, ReadOnlySpan<byte> source, Span<float> destination)
    {
        ref readonly var t = ref QuantTraits.Get(type);
        if (destination.Length % t.BlockSize != 0) ThrowHelper.OutOfRange(nameof(destination), destination.Length, $"a multiple of {t.BlockSize}");
        long bytes = t.RowBytes(destination.Length);
        if (source.Length < bytes) ThrowHelper.TooShort(nameof(source), source.Length, (int)bytes);
        fixed (byte* p = source) t.Dequantize(p, destination);
    }
}
