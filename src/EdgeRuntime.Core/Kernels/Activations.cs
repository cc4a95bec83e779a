using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace EdgeRuntime.Core.Kernels;

/// <summary>Elementwise activations: SiLU, exact (erf) GELU, and the SwiGLU gate.</summary>
/// <remarks>Stateless; safe from any thread. Destinations may alias inputs.</remarks>
public static unsafe class Activations
{
    /// <summary>SiLU / swish: <c>y = x·σ(x)</c>, vectorised like <see cref="SwiGlu"/>; the destination may be x itself.</summary>
    public static void Silu(ReadOnlySpan<float> x, Span<float> destination)
    {
        if (destination.Length < x.Length) ThrowHelper.TooShort(nameof(destination), destination.Length, x.Length);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            fixed (float* px = x, pd = destination)
            {
                for (; i + 8 <= x.Length; i += 8)
                {
                    var v = Vector256.Load(px + i);
                    (v / (Vector256<float>.One + Vector256.Exp(-v))).Store(pd + i);
                }
            }
        }
        // σ(x)·x with the input read before it is overwritten when aliased.
        for (; i < x.Length; i++)
        {
            float v = x[i];
            destination[i] = v / (1f + MathF.Exp(-v));
        }
    }

    /// <summary>SiLU, vectorised through <see cref="TensorPrimitives"/> when x and destination do not overlap partially.</summary>
    public static void SiluInPlace(Span<float> x)
    {
        // TensorPrimitives.Sigmoid needs a separate destination to keep x; do it blockwise through a small stack buffer.
        Span<float> tmp = stackalloc float[256];
        for (int i = 0; i < x.Length; i += tmp.Length)
        {
            var chunk = x.Slice(i, Math.Min(tmp.Length, x.Length - i));
            var s = tmp[..chunk.Length];
            TensorPrimitives.Sigmoid(chunk, s);
            TensorPrimitives.Multiply(chunk, s, chunk);
        }
    }

    /// <summary>Gated product <c>y = a · silu(gate)</c>, the SwiGLU of flash-attn's GatedMlp.</summary>
    /// <remarks>Vectorised with <see cref="Vector256.Exp(Vector256{float})"/> (the exp of <see cref="TensorPrimitives"/>);
    /// each element is read before its destination is written, so the destination may be the very span of either input
    /// (not a shifted overlap).</remarks>
    public static void SwiGlu(ReadOnlySpan<float> a, ReadOnlySpan<float> gate, Span<float> destination)
    {
        if (gate.Length != a.Length) ThrowHelper.LengthMismatch(nameof(gate), gate.Length, a.Length);
        if (destination.Length < a.Length) ThrowHelper.TooShort(nameof(destination), destination.Length, a.Length);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            fixed (float* pa = a, pg = gate, pd = destination)
            {
                for (; i + 8 <= a.Length; i += 8)
                {
                    var g = Vector256.Load(pg + i);
                    (Vector256.Load(pa + i) * (g / (Vector256<float>.One + Vector256.Exp(-g)))).Store(pd + i);
                }
            }
        }
        for (; i < a.Length; i++)
        {
            float g = gate[i];
            destination[i] = a[i] * (g / (1f + MathF.Exp(-g)));
        }
    }

    /// <summary>Exact GELU, <c>y = x·½(1 + erf(x/√2))</c>, with erf from Abramowitz–Stegun 7.1.26 (|error| ≤ 1.5e-7).</summary>
    public static void Gelu(ReadOnlySpan<float> x, Span<float> destination)
    {
        if (destination.Length < x.Length) ThrowHelper.TooShort(nameof(destination), destination.Length, x.Length);
        int i = 0;
        fixed (float* px = x, pd = destination)
        {
            if (Vector256.IsHardwareAccelerated)
                for (; i + 8 <= x.Length; i += 8) GeluVector256(Vector256.Load(px + i)).Store(pd + i);
            if (Vector128.IsHardwareAccelerated)
                for (; i + 4 <= x.Length; i += 4) GeluVector128(Vector128.Load(px + i)).Store(pd + i);
        }
        for (; i < x.Length; i++) destination[i] = GeluScalar(x[i]);
    }

    internal static Vector256<float> GeluVector256(Vector256<float> v)
    {
        var z = Vector256.Abs(v) * Vector256.Create(0.70710678118654752f);
        var t = Vector256<float>.One / (Vector256<float>.One + Vector256.Create(P) * z);
        var poly = ((((Vector256.Create(A5) * t + Vector256.Create(A4)) * t + Vector256.Create(A3)) * t + Vector256.Create(A2)) * t + Vector256.Create(A1)) * t;
        var erfAbs = Vector256<float>.One - poly * Vector256.Exp(-(z * z));
        var erf = Vector256.ConditionalSelect(Vector256.LessThan(v, Vector256<float>.Zero), -erfAbs, erfAbs);
        return Vector256.Create(0.5f) * v * (Vector256<float>.One + erf);
    }

    internal static Vector128<float> GeluVector128(Vector128<float> v)
    {
        var z = Vector128.Abs(v) * Vector128.Create(0.70710678118654752f);
        var t = Vector128<float>.One / (Vector128<float>.One + Vector128.Create(P) * z);
        var poly = ((((Vector128.Create(A5) * t + Vector128.Create(A4)) * t + Vector128.Create(A3)) * t + Vector128.Create(A2)) * t + Vector128.Create(A1)) * t;
        var erfAbs = Vector128<float>.One - poly * Vector128.Exp(-(z * z));
        var erf = Vector128.ConditionalSelect(Vector128.LessThan(v, Vector128<float>.Zero), -erfAbs, erfAbs);
        return Vector128.Create(0.5f) * v * (Vector128<float>.One + erf);
    }

    private const float P = 0.3275911f, A1 = 0.254829592f, A2 = -0.284496736f, A3 = 1.421413741f, A4 = -1.453152027f, A5 = 1.061405429f;

    private static float GeluScalar(float v)
    {
        float z = MathF.Abs(v) * 0.70710678118654752f;
        float t = 1f / (1f + P * z);
        float poly = ((((A5 * t + A4) * t + A3) * t + A2) * t + A1) * t;
        float erf = 1f - poly * MathF.Exp(-z * z);
        return 0.5f * v * (1f + (v < 0 ? -erf : erf));
    }

    /// <summary>erf in double (A&amp;S 7.1.26), for references and tests.</summary>
    public static double Erf(double x)
    {
        double z = Math.Abs(x);
        double t = 1.0 / (1.0 + 0.3275911 * z);
        double poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t;
        double r = 1.0 - poly * Math.Exp(-z * z);
        return x < 0 ? -r : r;
    }

    /// <summary>Scalar twin of <see cref="Gelu"/> in double.</summary>
    internal static void GeluReference(ReadOnlySpan<float> x, Span<float> destination)
    {
        for (int i = 0; i < x.Length; i++) destination[i] = (float)(0.5 * x[i] * (1.0 + Erf(x[i] / Math.Sqrt(2.0))));
    }

    /// <summary>Scalar twin of <see cref="Silu"/> in double.</summary>
    internal static void SiluReference(ReadOnlySpan<float> x, Span<float> destination)
    {
        for (int i = 0; i < x.Length; i++) destination[i] = (float)(x[i] / (1.0 + Math.Exp(-x[i])));
    }
}
