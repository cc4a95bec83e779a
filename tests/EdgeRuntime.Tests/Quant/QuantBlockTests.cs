using System.Runtime.CompilerServices;
using EdgeRuntime.Core.Quant;
using EdgeRuntime.Core.Tensors;

namespace EdgeRuntime.Tests.Quant;

public unsafe class QuantBlockTests
{
    [Fact]
    public void SizeOf_Is34_ForBlockQ8_0() => Assert.Equal(34, Unsafe.SizeOf<BlockQ8_0>());

    [Fact]
    public void SizeOf_Is18_ForBlockQ4_0() => Assert.Equal(18, Unsafe.SizeOf<BlockQ4_0>());

    [Fact]
    public void Traits_AgreeWithDTypeInfo_ForEveryRow()
    {
        foreach (var t in QuantTraits.All)
        {
            Assert.Equal(DTypeInfo.BlockSize(t.Type), t.BlockSize);
            Assert.Equal(DTypeInfo.TypeSize(t.Type), t.TypeSize);
            Assert.Same(t.Name, QuantTraits.Get(t.Type).Name);
        }
        Assert.Equal(34, QuantTraits.Get(DType.Q8_0).TypeSize);
        Assert.Equal(18, QuantTraits.Get(DType.Q4_0).TypeSize);
    }

    [Fact]
    public void QuantizeQ8_0_GivesHandComputedCodes_WhenScaleIsOne()
    {
        // amax = 127 -> d = 1, id = 1: codes are roundf(x), ties away from zero.
        var x = new float[32];
        float[] head = [127f, -127f, 2.5f, -2.5f, 0.49f, -0.5f, 1.5f, 0f, 100.4f, -3.51f];
        head.CopyTo(x, 0);
        sbyte[] expected = [127, -127, 3, -3, 0, -1, 2, 0, 100, -4];
        var blocks = new BlockQ8_0[1];
        BlockQ8_0.Quantize(x, blocks);
        Assert.Equal((Half)1f, blocks[0].D);
        for (int j = 0; j < 32; j++) Assert.Equal(j < expected.Length ? expected[j] : (sbyte)0, blocks[0].Qs[j]);
    }

    [Fact]
    public void QuantizeQ8_0_GivesHandComputedCodes_WhenScaleIsTwo()
    {
        // amax = 254 -> d = 2, id = 0.5: 3 -> 1.5 -> 2; -5 -> -2.5 -> -3; 1 -> 0.5 -> 1; -254 -> -127.
        var x = new float[32];
        x[0] = 254f; x[1] = 3f; x[2] = -5f; x[3] = 1f; x[4] = -254f; x[31] = 0.9f;
        var blocks = new BlockQ8_0[1];
        BlockQ8_0.Quantize(x, blocks);
        Assert.Equal((Half)2f, blocks[0].D);
        Assert.Equal(127, blocks[0].Qs[0]);
        Assert.Equal(2, blocks[0].Qs[1]);
        Assert.Equal(-3, blocks[0].Qs[2]);
        Assert.Equal(1, blocks[0].Qs[3]);
        Assert.Equal(-127, blocks[0].Qs[4]);
        Assert.Equal(0, blocks[0].Qs[31]);
    }

    [Fact]
    public void QuantizeQ8_0_GivesZeroScaleAndCodes_WhenBlockIsZero()
    {
        var blocks = new BlockQ8_0[2];
        BlockQ8_0.Quantize(new float[64], blocks);
        for (int b = 0; b < 2; b++)
        {
            Assert.Equal((Half)0f, blocks[b].D);
            for (int j = 0; j < 32; j++) Assert.Equal(0, blocks[b].Qs[j]);
        }
    }

    [Fact]
    public void QuantizeQ4_0_GivesHandComputedCodes_WhenMaxIsNegative()
    {
        // max = -8 -> d = 1, id = 1: code = min(15, trunc(x + 8.5)).
        var x = new float[32];
        x[0] = -8f; x[1] = 7f; x[2] = 0f; x[3] = -0.5f; x[4] = 0.49f; x[5] = 0.5f; x[6] = -7.9f;
        x[16] = 6.6f; x[17] = -1f;
        var blocks = new BlockQ4_0[1];
        BlockQ4_0.Quantize(x, blocks);
        Assert.Equal((Half)1f, blocks[0].D);
        int[] lo = [0, 15, 8, 8, 8, 9, 0];  // -7.9 + 8.5 = 0.6 -> 0
        int[] hi = [15, 7];                  // 6.6 + 8.5 = 15.1 -> 15; -1 + 8.5 = 7.5 -> 7
        for (int j = 0; j < 16; j++)
        {
            int expectedLo = j < lo.Length ? lo[j] : 8;
            int expectedHi = j < hi.Length ? hi[j] : 8;
            Assert.Equal(expectedLo | (expectedHi << 4), blocks[0].Qs[j]);
        }
    }

    [Fact]
    public void QuantizeQ4_0_ClampsOppositeExtreme_WhenMaxIsPositive()
    {
        // max = 16 -> d = -2, id = -0.5: 16 -> 0 (value 16); -16 -> 16.5 -> 16 -> clamped 15 (value -14);
        // 1 -> 8 (value 0); -1 -> 9 (value -2); 3 -> 7 (value 2).
        var x = new float[32];
        x[0] = 16f; x[1] = -16f; x[2] = 1f; x[3] = -1f; x[4] = 3f;
        var blocks = new BlockQ4_0[1];
        BlockQ4_0.Quantize(x, blocks);
        Assert.Equal((Half)(-2f), blocks[0].D);
        Assert.Equal(0 | (8 << 4), blocks[0].Qs[0]);
        Assert.Equal(15 | (8 << 4), blocks[0].Qs[1]);
        Assert.Equal(8 | (8 << 4), blocks[0].Qs[2]);
        Assert.Equal(9 | (8 << 4), blocks[0].Qs[3]);
        Assert.Equal(7 | (8 << 4), blocks[0].Qs[4]);
        var y = new float[32];
        BlockQ4_0.Dequantize(blocks, y);
        Assert.Equal([16f, -14f, 0f, -2f, 2f], y[..5]);
    }

    [Fact]
    public void DequantizeQ8_0_ErrorIsWithinHalfStep_OnRandomData()
    {
        // |x - q·d| <= d/2 from rounding plus |q|·|d - fp16(d)| <= 127·d·2^-11 from storing d as fp16:
        // per element <= amax·(1/254 + 1/2048), amax the block's largest magnitude.
        var rng = new Random(42);
        var x = RandomVector(rng, 32 * 64, scale: 3f);
        var blocks = new BlockQ8_0[64];
        BlockQ8_0.Quantize(x, blocks);
        var y = new float[x.Length];
        BlockQ8_0.Dequantize(blocks, y);
        CheckPerElementBound(x, y, 1.0 / 254 + 1.0 / 2048, "q8_0");
    }

    [Fact]
    public void DequantizeQ4_0_ErrorIsWithinOneStep_OnRandomData()
    {
        // Rounding gives |x - value| <= |d|/2 except at the clamped opposite extreme (|d|), |d| = amax/8;
        // fp16 storage of d adds |q-8|·|d|·2^-11 <= 8·|d|·2^-11. Per element <= amax·(1/8 + 1/2048).
        var rng = new Random(42);
        var x = RandomVector(rng, 32 * 64, scale: 3f);
        var blocks = new BlockQ4_0[64];
        BlockQ4_0.Quantize(x, blocks);
        var y = new float[x.Length];
        BlockQ4_0.Dequantize(blocks, y);
        CheckPerElementBound(x, y, 1.0 / 8 + 1.0 / 2048, "q4_0");
    }

    [Theory]
    [InlineData(DType.Q8_0)]
    [InlineData(DType.Q4_0)]
    public void RoundTripError_IsBelowGgmlBound_OnGgmlTestData(DType type)
    {
        // ggml tests/test-quantize-fns.cpp: data 0.1 + 2cos(i + offset), n = 32·128,
        // sqrt(Σ(x - deq)²)/n < MAX_QUANTIZATION_TOTAL_ERROR = 0.002.
        const int n = 32 * 128;
        var x = GgmlTestData(0f, n);
        var bytes = new byte[QuantTraits.Get(type).RowBytes(n)];
        Quantization.Quantize(type, x, bytes);
        var y = new float[n];
        Quantization.Dequantize(type, bytes, y);
        double sum = 0;
        for (int i = 0; i < n; i++) sum += (x[i] - (double)y[i]) * (x[i] - (double)y[i]);
        double error = Math.Sqrt(sum) / n;
        Assert.True(error < 0.002, $"{type}: total quantization error {error} >= 0.002");
    }

    [Fact]
    public void ActivationQuantizer_MatchesReferenceBytes_ForEveryWidth()
    {
        var rng = new Random(42);
        const int blocks = 40;
        var x = RandomVector(rng, blocks * 32, scale: 5f);
        // Exact ties after scaling: a block whose amax is 127 has id = 1, so k + 0.5 values are ties.
        x[32] = 127f; x[33] = 2.5f; x[34] = -2.5f; x[35] = 0.5f; x[36] = -0.5f; x[37] = -126.5f;
        for (int j = 64; j < 96; j++) x[j] = 0f;                 // zero block
        x[100] = float.Epsilon;                                   // subnormal extreme
        var expected = new BlockQ8_0[blocks];
        var actual = new BlockQ8_0[blocks];
        var scales = new float[blocks];
        fixed (float* px = x)
        fixed (BlockQ8_0* pe = expected, pa = actual)
        fixed (float* ps = scales)
        {
            BlockQ8_0.QuantizeReference(px, pe, blocks);
            if (System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated)
            {
                BlockQ8_0.QuantizeRowVector256(px, pa, blocks);
                AssertSameBlocks(expected, actual, "Vector256");
            }
            if (System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated)
            {
                Array.Clear(actual);
                BlockQ8_0.QuantizeRowVector128(px, pa, blocks);
                AssertSameBlocks(expected, actual, "Vector128");
            }
            Array.Clear(actual);
            BlockQ8_0.QuantizeRow(px, pa, ps, blocks);
            AssertSameBlocks(expected, actual, "dispatch");
            for (int b = 0; b < blocks; b++) Assert.Equal((float)expected[b].D, scales[b]);
        }
    }

    internal static float[] GgmlTestData(float offset, int n)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = 0.1f + 2f * MathF.Cos(i + offset);
        return x;
    }

    internal static float[] RandomVector(Random rng, int n, float scale)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)((rng.NextDouble() * 2 - 1) * scale);
        return x;
    }

    private static void AssertSameBlocks(BlockQ8_0[] expected, BlockQ8_0[] actual, string path)
    {
        for (int b = 0; b < expected.Length; b++)
        {
            Assert.True(expected[b].D.Equals(actual[b].D), $"{path}: block {b} scale expected {expected[b].D}, got {actual[b].D}");
            for (int j = 0; j < 32; j++)
                Assert.True(expected[b].Qs[j] == actual[b].Qs[j], $"{path}: block {b} code {j} expected {expected[b].Qs[j]}, got {actual[b].Qs[j]}");
        }
    }

    private static void CheckPerElementBound(float[] x, float[] y, double factor, string what)
    {
        for (int b = 0; b < x.Length / 32; b++)
        {
            double amax = 0;
            for (int j = 0; j < 32; j++) amax = Math.Max(amax, Math.Abs(x[b * 32 + j]));
            for (int j = 0; j < 32; j++)
            {
                int i = b * 32 + j;
                double err = Math.Abs(x[i] - (double)y[i]);
                Assert.True(err <= amax * factor, $"{what}: element {i} expected {x[i]}, got {y[i]} (error {err} > bound {amax * factor})");
            }
        }
    }
}

public class Fp16Tests
{
    [Fact]
    public void ToSingle_EqualsHalfConversion_ForAll65536Patterns()
    {
        for (int i = 0; i < 65536; i++)
        {
            Half h = BitConverter.UInt16BitsToHalf((ushort)i);
            float expected = (float)h, actual = Fp16.ToSingle((ushort)i);
            if (float.IsNaN(expected)) Assert.True(float.IsNaN(actual), $"0x{i:X4}: expected NaN, got {actual}");
            else Assert.True(BitConverter.SingleToUInt32Bits(expected) == BitConverter.SingleToUInt32Bits(actual), $"0x{i:X4}: expected {expected}, got {actual}");
        }
    }

    [Fact]
    public unsafe void Table_EqualsHalfConversion_ForAll65536Patterns()
    {
        for (int i = 0; i < 65536; i++)
        {
            float expected = (float)BitConverter.UInt16BitsToHalf((ushort)i), actual = Fp16.Table[i];
            ushort bits = (ushort)i;
            Assert.Equal(BitConverter.SingleToUInt32Bits(Fp16.ToSingle(bits)), BitConverter.SingleToUInt32Bits(Fp16.TableScale(&bits)));
            if (float.IsNaN(expected)) Assert.True(float.IsNaN(actual), $"0x{i:X4}: expected NaN, got {actual}");
            else Assert.True(BitConverter.SingleToUInt32Bits(expected) == BitConverter.SingleToUInt32Bits(actual), $"0x{i:X4}: expected {expected}, got {actual}");
        }
    }
}
