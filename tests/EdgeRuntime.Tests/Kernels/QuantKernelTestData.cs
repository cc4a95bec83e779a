using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using EdgeRuntime.Core.Quant;

namespace EdgeRuntime.Tests.Kernels;

/// <summary>Shared pieces of the quantized mat-vec tests: random data, the ISA path list, and an independent
/// double-precision oracle for the integer block sums.</summary>
internal static unsafe class QuantKernelTestData
{
    /// <summary>Each path with whether this machine can run it, and why not.</summary>
    public static (string Name, bool Supported, string Why)[] Paths =>
    [
        ("AvxVnni", AvxVnni.IsSupported, "AvxVnni.IsSupported is false (no AVX-VNNI on this CPU or disabled)"),
        ("Avx2", Avx2.IsSupported, "Avx2.IsSupported is false"),
        ("Dp", Dp.IsSupported, "Dp.IsSupported is false (not an ARMv8.2+ dot-product CPU; arm64 runs come later)"),
        ("AdvSimd", AdvSimd.IsSupported, "AdvSimd.IsSupported is false (not arm64)"),
        ("Scalar", true, ""),
    ];

    public static float[] Gaussian(Random rng, int n, double sigma = 1.0)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++)
        {
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            x[i] = (float)(sigma * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
        return x;
    }

    /// <summary>Σ_b |Σ_j |w_j·x_j|| · |d_w·d_x| per row: the magnitude any float summation order of the block terms is
    /// bounded by (used to scale the path-vs-reference tolerance).</summary>
    public static double AbsTermSum(Func<int, int, int> weightCode, Func<int, double> weightScale, BlockQ8_0* xq, int blocks)
    {
        double s = 0;
        for (int b = 0; b < blocks; b++)
        {
            long abs = 0;
            for (int j = 0; j < 32; j++) abs += Math.Abs(weightCode(b, j) * xq[b].Qs[j]);
            s += abs * Math.Abs(weightScale(b) * (double)xq[b].D);
        }
        return s;
    }
}
