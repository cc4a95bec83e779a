using System.Numerics.Tensors;

namespace EdgeRuntime.Core.Kernels;

/// <summary>RMSNorm and its weightless variant SimpleRMSNorm (TransNormerLLM's SRMSNorm).</summary>
/// <remarks>
/// <c>y = x / sqrt(mean(x²) + eps) · w</c> (Zhang &amp; Sennrich 2019); SimpleRMSNorm drops <c>w</c>
/// (OpenNLPLab/lightning-attention@d15c385 lightning_attn/ops/torch/srmsnorm.py). Stateless; safe from any thread.
/// </remarks>
public static class RmsNorm
{
    /// <summary>Normalises <paramref name="x"/> into <paramref name="destination"/> (may alias x), scaling by <paramref name="weight"/>.</summary>
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, float eps, Span<float> destination)
    {
        if (weight.Length != x.Length) ThrowHelper.LengthMismatch(nameof(weight), weight.Length, x.Length);
        if (destination.Length < x.Length) ThrowHelper.TooShort(nameof(destination), destination.Length, x.Length);
        float scale = Scale(x, eps);
        TensorPrimitives.Multiply(x, scale, destination);
        TensorPrimitives.Multiply(destination[..x.Length], weight, destination);
    }

    /// <summary>SimpleRMSNorm: <c>y = x / sqrt(mean(x²) + eps)</c>.</summary>
    public static void ForwardSimple(ReadOnlySpan<float> x, float eps, Span<float> destination)
    {
        if (destination.Length < x.Length) ThrowHelper.TooShort(nameof(destination), destination.Length, x.Length);
        TensorPrimitives.Multiply(x, Scale(x, eps), destination);
    }

    private static float Scale(ReadOnlySpan<float> x, float eps) =>
        (float)(1.0 / Math.Sqrt(TensorPrimitives.SumOfSquares(x) / x.Length + eps));

    /// <summary>Scalar twin of <see cref="Forward"/> (empty weight = SimpleRMSNorm), sums in double.</summary>
    internal static void Reference(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, float eps, Span<float> destination)
    {
        double ss = 0;
        foreach (float v in x) ss += (double)v * v;
        double scale = 1.0 / Math.Sqrt(ss / x.Length + eps);
        for (int i = 0; i < x.Length; i++)
            destination[i] = (float)(x[i] * scale * (weight.IsEmpty ? 1.0 : weight[i]));
    }
}
