using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeRuntime.Core.Quant;

namespace EdgeRuntime.Core.Kernels;

// x86 paths of MatVecQ8_0 (ggml src/ggml-cpu/arch/x86/quants.c, ggml_vec_dot_q8_0_q8_0).
public static unsafe partial class MatVecQ8_0
{
    /// <summary>AVX-VNNI: <c>vpdpbusd(|w|, sign(x, w))</c> sums four byte products per int32 lane without saturation.</summary>
    internal static void RowsAvxVnni(BlockQ8_0* w, int blocks, BlockQ8_0* xq, float* xd, float* y, int rowStart, int rowEnd) =>
        Rows<VnniDot>(w, blocks, xq, xd, y, rowStart, rowEnd);

    /// <summary>AVX2: <c>vpmaddubsw(|w|, sign(x, w))</c> then <c>vpmaddwd</c> with ones. Pair sums stay within 2·128·127 = 32512,
    /// so the saturating 16-bit step never saturates (activation codes are in [−127, 127]; a weight byte may be −128).</summary>
    internal static void RowsAvx2(BlockQ8_0* w, int blocks, BlockQ8_0* xq, float* xd, float* y, int rowStart, int rowEnd) =>
        Rows<Avx2Dot>(w, blocks, xq, xd, y, rowStart, rowEnd);

    /// <summary>Mat-vec rows, four per pass taken one from each quarter of the range, so each worker reads four long
    /// sequential streams at once (a single stream leaves DRAM bandwidth unused: 19 vs 23 GB/s per core measured on the
    /// 2-core EPYC of docs/benchmarks.md) and each activation block load serves four rows. One accumulator per row; the
    /// last <c>(rowEnd − rowStart) mod 4</c> rows take the two-accumulator single-row loop.</summary>
    private const int PrefetchBlocks = 16;

    private static void Rows<TDot>(BlockQ8_0* w, int blocks, BlockQ8_0* xq, float* xd, float* y, int rowStart, int rowEnd)
        where TDot : struct, IBlockDot
    {
        int quarter = (rowEnd - rowStart) / 4;
        for (int i = 0; i < quarter; i++)
        {
            int r0 = rowStart + i, r1 = r0 + quarter, r2 = r1 + quarter, r3 = r2 + quarter;
            BlockQ8_0* w0 = w + (long)r0 * blocks, w1 = w + (long)r1 * blocks, w2 = w + (long)r2 * blocks, w3 = w + (long)r3 * blocks;
            Vector256<float> acc0 = Vector256<float>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
            for (int b = 0; b < blocks; b++)
            {
                // Software prefetch PrefetchBlocks ahead on each of the four row streams (a 34-byte block: about one
                // cache line per two blocks; prefetching every block costs one uop per row and never faults).
                Sse.Prefetch0(w0 + b + PrefetchBlocks);
                Sse.Prefetch0(w1 + b + PrefetchBlocks);
                Sse.Prefetch0(w2 + b + PrefetchBlocks);
                Sse.Prefetch0(w3 + b + PrefetchBlocks);
                var x = Vector256.Load(xq[b].Qs);
                float dx = xd[b];
                acc0 = MultiplyAdd(Vector256.Create(Fp16.TableScale(w0 + b) * dx), Avx.ConvertToVector256Single(TDot.Sums(Vector256.Load(w0[b].Qs), x)), acc0);
                acc1 = MultiplyAdd(Vector256.Create(Fp16.TableScale(w1 + b) * dx), Avx.ConvertToVector256Single(TDot.Sums(Vector256.Load(w1[b].Qs), x)), acc1);
                acc2 = MultiplyAdd(Vector256.Create(Fp16.TableScale(w2 + b) * dx), Avx.ConvertToVector256Single(TDot.Sums(Vector256.Load(w2[b].Qs), x)), acc2);
                acc3 = MultiplyAdd(Vector256.Create(Fp16.TableScale(w3 + b) * dx), Avx.ConvertToVector256Single(TDot.Sums(Vector256.Load(w3[b].Qs), x)), acc3);
            }
            y[r0] = Vector256.Sum(acc0);
            y[r1] = Vector256.Sum(acc1);
            y[r2] = Vector256.Sum(acc2);
            y[r3] = Vector256.Sum(acc3);
        }
        for (int r = rowStart + 4 * quarter; r < rowEnd; r++)
        {
            BlockQ8_0* row = w + (long)r * blocks;
            // Two accumulators: consecutive blocks do not wait on each other's FMA.
            Vector256<float> acc0 = Vector256<float>.Zero, acc1 = Vector256<float>.Zero;
            int b = 0;
            for (; b + 2 <= blocks; b += 2)
            {
                acc0 = MultiplyAdd(Vector256.Create(Fp16.TableScale(row + b) * xd[b]), Avx.ConvertToVector256Single(TDot.Sums(Vector256.Load(row[b].Qs), Vector256.Load(xq[b].Qs))), acc0);
                acc1 = MultiplyAdd(Vector256.Create(Fp16.TableScale(row + b + 1) * xd[b + 1]), Avx.ConvertToVector256Single(TDot.Sums(Vector256.Load(row[b + 1].Qs), Vector256.Load(xq[b + 1].Qs))), acc1);
            }
            if (b < blocks)
                acc0 = MultiplyAdd(Vector256.Create(Fp16.TableScale(row + b) * xd[b]), Avx.ConvertToVector256Single(TDot.Sums(Vector256.Load(row[b].Qs), Vector256.Load(xq[b].Qs))), acc0);
            y[r] = Vector256.Sum(acc0 + acc1);
        }
    }

    /// <summary>Eight int32 partial sums of one block's 32 products <c>w·x</c> (exact), by one x86 instruction family.</summary>
    private interface IBlockDot
    {
        static abstract Vector256<int> Sums(Vector256<sbyte> w, Vector256<sbyte> x);
    }

    /// <summary><c>vpmaddubsw(|w|, sign(x, w))</c>, then <c>vpmaddwd</c> with ones (ggml <c>mul_sum_i8_pairs</c>).</summary>
    private struct Avx2Dot : IBlockDot
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Sums(Vector256<sbyte> w, Vector256<sbyte> x) =>
            Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Avx2.Sign(w, w).AsByte(), Avx2.Sign(x, w)), Vector256.Create((short)1));
    }

    /// <summary><c>vpdpbusd(0, |w|, sign(x, w))</c>.</summary>
    private struct VnniDot : IBlockDot
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Sums(Vector256<sbyte> w, Vector256<sbyte> x) =>
            AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, Avx2.Sign(w, w).AsByte(), Avx2.Sign(x, w));
    }

    /// <summary>Prefill tile, AVX2 or AVX-VNNI: four tokens per row, so each weight block is loaded (and its absolute value
    /// taken) once for four activation rows. <c>y[t·yStride + r]</c> for tokens <c>t</c> = 0..3 of <paramref name="xq"/>
    /// (stride <paramref name="blocks"/>). Per token the arithmetic is that of <see cref="RowsAvx2"/> with one accumulator.</summary>
    internal static void Rows4TokensX86(BlockQ8_0* w, int blocks, BlockQ8_0* xq, float* xd, float* y, long yStride, int rowStart, int rowEnd)
    {
        BlockQ8_0* x0 = xq, x1 = xq + blocks, x2 = xq + 2 * blocks, x3 = xq + 3 * blocks;
        float* d0 = xd, d1 = xd + blocks, d2 = xd + 2 * blocks, d3 = xd + 3 * blocks;
        for (int r = rowStart; r < rowEnd; r++)
        {
            BlockQ8_0* row = w + (long)r * blocks;
            Vector256<float> acc0 = Vector256<float>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
            for (int b = 0; b < blocks; b++)
            {
                var wq = Vector256.Load(row[b].Qs);
                var abs = Avx2.Sign(wq, wq).AsByte();
                float dw = Fp16.TableScale(row + b);
                acc0 = MultiplyAdd(Vector256.Create(dw * d0[b]), Avx.ConvertToVector256Single(Sums(abs, wq, x0 + b)), acc0);
                acc1 = MultiplyAdd(Vector256.Create(dw * d1[b]), Avx.ConvertToVector256Single(Sums(abs, wq, x1 + b)), acc1);
                acc2 = MultiplyAdd(Vector256.Create(dw * d2[b]), Avx.ConvertToVector256Single(Sums(abs, wq, x2 + b)), acc2);
                acc3 = MultiplyAdd(Vector256.Create(dw * d3[b]), Avx.ConvertToVector256Single(Sums(abs, wq, x3 + b)), acc3);
            }
            y[r] = Vector256.Sum(acc0);
            y[yStride + r] = Vector256.Sum(acc1);
            y[2 * yStride + r] = Vector256.Sum(acc2);
            y[3 * yStride + r] = Vector256.Sum(acc3);
        }
    }

    /// <summary>Int32 partial sums of <c>w·x</c> for one block, given <c>|w|</c> (as unsigned bytes) and <c>w</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Sums(Vector256<byte> absW, Vector256<sbyte> w, BlockQ8_0* x)
    {
        var signedX = Avx2.Sign(Vector256.Load(x->Qs), w);
        if (AvxVnni.IsSupported) return AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, absW, signedX);
        return Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(absW, signedX), Vector256.Create((short)1));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> MultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) =>
        Fma.IsSupported ? Fma.MultiplyAdd(a, b, c) : a * b + c;
}
