using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace EdgeRuntime.Core.Kernels;

/// <summary>f32 dot product with a vector path per accelerated width and an exact-order scalar twin.</summary>
/// <remarks>Stateless; safe from any thread.</remarks>
public static unsafe class Dot
{
    /// <summary>Returns <c>Σ a[i]·b[i]</c> over <paramref name="n"/> elements, using the widest accelerated vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float F32(float* a, float* b, int n)
    {
        if (Vector512.IsHardwareAccelerated && n >= 16) return F32Vector512(a, b, n);
        if (Vector256.IsHardwareAccelerated && n >= 8) return F32Vector256(a, b, n);
        if (Vector128.IsHardwareAccelerated && n >= 4) return F32Vector128(a, b, n);
        return Reference(a, b, n);
    }

    /// <summary>Span overload of <see cref="F32(float*, float*, int)"/>.</summary>
    public static float F32(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length) ThrowHelper.LengthMismatch(nameof(b), b.Length, a.Length);
        fixed (float* pa = a, pb = b) return F32(pa, pb, a.Length);
    }

    internal static float F32Vector512(float* a, float* b, int n)
    {
        Vector512<float> acc0 = Vector512<float>.Zero, acc1 = Vector512<float>.Zero;
        int i = 0;
        for (; i + 32 <= n; i += 32)
        {
            acc0 = Vector512.MultiplyAddEstimate(Vector512.Load(a + i), Vector512.Load(b + i), acc0);
            acc1 = Vector512.MultiplyAddEstimate(Vector512.Load(a + i + 16), Vector512.Load(b + i + 16), acc1);
        }
        for (; i + 16 <= n; i += 16)
            acc0 = Vector512.MultiplyAddEstimate(Vector512.Load(a + i), Vector512.Load(b + i), acc0);
        float sum = Vector512.Sum(acc0 + acc1);
        for (; i < n; i++) sum += a[i] * b[i];
        return sum;
    }

    internal static float F32Vector256(float* a, float* b, int n)
    {
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = Vector256<float>.Zero;
        int i = 0;
        for (; i + 16 <= n; i += 16)
        {
            acc0 = Vector256.MultiplyAddEstimate(Vector256.Load(a + i), Vector256.Load(b + i), acc0);
            acc1 = Vector256.MultiplyAddEstimate(Vector256.Load(a + i + 8), Vector256.Load(b + i + 8), acc1);
        }
        for (; i + 8 <= n; i += 8)
            acc0 = Vector256.MultiplyAddEstimate(Vector256.Load(a + i), Vector256.Load(b + i), acc0);
        float sum = Vector256.Sum(acc0 + acc1);
        for (; i < n; i++) sum += a[i] * b[i];
        return sum;
    }

    internal static float F32Vector128(float* a, float* b, int n)
    {
        Vector128<float> acc0 = Vector128<float>.Zero, acc1 = Vector128<float>.Zero;
        int i = 0;
        for (; i + 8 <= n; i += 8)
        {
            acc0 = Vector128.MultiplyAddEstimate(Vector128.Load(a + i), Vector128.Load(b + i), acc0);
            acc1 = Vector128.MultiplyAddEstimate(Vector128.Load(a + i + 4), Vector128.Load(b + i + 4), acc1);
        }
        for (; i + 4 <= n; i += 4)
            acc0 = Vector128.MultiplyAddEstimate(Vector128.Load(a + i), Vector128.Load(b + i), acc0);
        float sum = Vector128.Sum(acc0 + acc1);
        for (; i < n; i++) sum += a[i] * b[i];
        return sum;
    }

    /// <summary>Scalar twin: <c>Σ a[i]·b[i]</c> accumulated in double, left to right.</summary>
    internal static float Reference(float* a, float* b, int n)
    {
        double sum = 0;
        for (int i = 0; i < n; i++) sum += (double)a[i] * b[i];
        return (float)sum;
    }

    /// <summary>Name of the path <see cref="F32(float*, float*, int)"/> takes for long inputs.</summary>
    public static string PathName =>
        Vector512.IsHardwareAccelerated ? "Vector512" : Vector256.IsHardwareAccelerated ? "Vector256" : Vector128.IsHardwareAccelerated ? "Vector128" : "Scalar";
}
