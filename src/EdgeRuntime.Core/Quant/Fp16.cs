using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace EdgeRuntime.Core.Quant;

/// <summary>fp16 → f32 for block scales inside kernels, as plain integer and float arithmetic that always inlines.</summary>
/// <remarks>
/// <c>(float)Half</c> is a call into CoreLib wherever the JIT does not inline it (tier 0, <c>TieredCompilation=0</c> with
/// ReadyToRun CoreLib), and a call in a SIMD loop spills every vector register: 30× slower mat-vec measured. The bits of a
/// finite half, shifted into an f32's exponent/mantissa position, read as an f32 that is exactly 2^-112 times the half's
/// value, normal and subnormal alike, so one multiply by 2^112 (exact) finishes the job; infinities and NaNs get the f32
/// exponent of all ones. Equal to <c>(float)Half</c> for all 65536 inputs (tested). <see cref="Table"/> holds the same
/// values for every bit pattern (ggml's <c>table_f32_f16</c>): the x86 kernels read a block scale with one load from it,
/// as .NET exposes no F16C conversion. Immutable after type initialisation; safe from any thread.
/// </remarks>
internal static unsafe class Fp16
{
    private const float TwoTo112 = 5.192296858534828E+33f;

    /// <summary>The f32 value of each of the 65536 fp16 bit patterns (256 KiB of native memory, never freed). Block scales
    /// of real weights cluster in a few exponents, so the lines in use stay in L1/L2.</summary>
    public static readonly float* Table = BuildTable();

    /// <summary>The f32 value of the fp16 bit pattern <paramref name="bits"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToSingle(ushort bits)
    {
        uint magnitude = (bits & 0x7FFFu) << 13;
        uint shifted = magnitude;
        float f = *(float*)&shifted * TwoTo112;
        uint result = *(uint*)&f;
        if (magnitude >= 0x7C00u << 13) result = magnitude | 0x7F800000u;   // inf / NaN (payload kept)
        result |= (bits & 0x8000u) << 16;
        return *(float*)&result;
    }

    /// <summary>The scale of a Q8_0 or Q4_0 block (its first two bytes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Scale(void* block) => ToSingle(*(ushort*)block);

    /// <summary>The scale of a Q8_0 or Q4_0 block through <see cref="Table"/>: two loads, equal to <see cref="Scale"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float TableScale(void* block) => Table[*(ushort*)block];

    private static float* BuildTable()
    {
        var table = (float*)NativeMemory.AlignedAlloc(65536 * sizeof(float), 64);
        for (int i = 0; i < 65536; i++) table[i] = ToSingle((ushort)i);
        return table;
    }
}
