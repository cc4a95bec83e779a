using System.Numerics.Tensors;

namespace EdgeRuntime.Core.Kernels;

/// <summary>LayerNorm with weight and bias: <c>y = (x − mean) / sqrt(var + eps) · w + b</c>, biased variance (PyTorch).</summary>
/// <remarks>Stateless; safe from any thread.</remarks>
public static class LayerNorm
{
    /// <summary>Normalises <paramref name="x"/> into <paramref name="destination"/> (may alias x).</summary>
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, float eps, Span<float> destination)
    {
        int n = x.Length;
        if (weight.Length != n) ThrowHelper.LengthMismatch(nameof(weight), weight.Length, n);
        if (bias.Length != n) ThrowHelper.LengthMismatch(nameof(bias), bias.Length, n);
        if (destination.Length < n) ThrowHelper.TooShort(nameof(destination), destination.Length, n);
        float mean = TensorPrimitives.Sum(x) / n;
        var d = destination[..n];
        TensorPrimitives.Subtract(x, mean, d);
        float inv = (float)(1.0 / Math.Sqrt(TensorPrimitives.SumOfSquares(d) / n + eps));
        TensorPrimitives.Multiply(d, inv, d);
        TensorPrimitives.FusedMultiplyAdd(d, weight, bias, d);
    }

    /// <summary>Scalar twin in double.</summary>
    internal static void Reference(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, float eps, Span<float> destination)
    {
        int n = x.Length;
        double mean = 0;
        foreach (float v in x) mean += v;
        mean /= n;
        double var = 0;
        foreach (float v in x) var += (v - mean) * (v - mean);
        double inv = 1.0 / Math.Sqrt(var / n + eps);
        for (int i = 0; i < n; i++) destination[i] = (float)((x[i] - mean) * inv * weight[i] + bias[i]);
    }
}
