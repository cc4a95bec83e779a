using System.Numerics.Tensors;

namespace EdgeRuntime.Core.Kernels;

/// <summary>Numerically safe softmax: <c>y = exp(x − max x) / Σ exp(x − max x)</c>.</summary>
/// <remarks>Stateless; safe from any thread. Destination may alias x.</remarks>
public static class Softmax
{
    /// <summary>Softmax of <paramref name="x"/> into <paramref name="destination"/>.</summary>
    public static void Forward(ReadOnlySpan<float> x, Span<float> destination)
    {
        if (x.IsEmpty) return;
        if (destination.Length < x.Length) ThrowHelper.TooShort(nameof(destination), destination.Length, x.Length);
        var d = destination[..x.Length];
        float max = TensorPrimitives.Max(x);
        TensorPrimitives.Subtract(x, max, d);
        TensorPrimitives.Exp(d, d);
        float sum = TensorPrimitives.Sum(d);
        TensorPrimitives.Divide(d, sum, d);
    }

    /// <summary>Scalar twin in double.</summary>
    internal static void Reference(ReadOnlySpan<float> x, Span<float> destination)
    {
        if (x.IsEmpty) return;
        double max = double.NegativeInfinity;
        foreach (float v in x) max = Math.Max(max, v);
        double sum = 0;
        for (int i = 0; i < x.Length; i++) sum += Math.Exp(x[i] - max);
        for (int i = 0; i < x.Length; i++) destination[i] = (float)(Math.Exp(x[i] - max) / sum);
    }
}
