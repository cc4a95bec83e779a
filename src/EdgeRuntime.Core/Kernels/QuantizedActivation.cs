using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EdgeRuntime.Core.Quant;

namespace EdgeRuntime.Core.Kernels;

/// <summary>Thread-owned scratch that holds the Q8_0 form of one call's activations (the <c>vec_dot_type</c> of ggml).</summary>
/// <remarks>
/// Each thread keeps one pinned buffer, grown (doubling) the first time a larger input arrives and reused afterwards, so
/// steady-state calls allocate nothing. The pointers returned stay valid until the same thread quantizes again.
/// </remarks>
internal static unsafe class QuantizedActivation
{
    [ThreadStatic] private static byte[]? t_buffer;

    /// <summary>Weight bytes per prefill tile: small enough to stay in L2 while every token passes over it.</summary>
    public const int TileBytes = 128 * 1024;

    /// <summary>Rows per prefill tile for rows of <paramref name="rowBytes"/> bytes (at least 4).</summary>
    public static int TileRows(long rowBytes) => (int)Math.Max(4, TileBytes / rowBytes);

    /// <summary>Quantizes <paramref name="tokens"/> rows of <paramref name="cols"/> floats (a multiple of 32).</summary>
    /// <returns>The blocks, <c>tokens·cols/32</c> of them, row after row; <paramref name="scales"/> gets each block's
    /// scale widened to f32.</returns>
    public static BlockQ8_0* Quantize(float* x, int tokens, int cols, out float* scales)
    {
        int blocksPerRow = cols / BlockQ8_0.BlockSize;
        long blocks = (long)tokens * blocksPerRow;
        long blockBytes = (blocks * BlockQ8_0.ByteSize + 63) & ~63L;
        long need = blockBytes + blocks * sizeof(float);
        if (need > Array.MaxLength) ThrowHelper.OutOfRange(nameof(tokens), tokens, $"small enough that {tokens}×{cols} activations fit one buffer");
        var buffer = t_buffer;
        if (buffer is null || buffer.Length < need)
        {
            long size = Math.Min(Array.MaxLength, Math.Max(need, (buffer?.Length ?? 0) * 2L));
            t_buffer = buffer = GC.AllocateUninitializedArray<byte>((int)size, pinned: true);
        }
        byte* p = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer));
        var q = (BlockQ8_0*)p;
        scales = (float*)(p + blockBytes);
        for (int t = 0; t < tokens; t++)
            BlockQ8_0.QuantizeRow(x + (long)t * cols, q + (long)t * blocksPerRow, scales + (long)t * blocksPerRow, blocksPerRow);
        return q;
    }
}
