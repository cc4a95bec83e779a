namespace EdgeRuntime.Core.Kernels;

/// <summary>Rotary position embedding, NeoX (non-interleaved) layout: the first half of a head pairs with the second.</summary>
/// <remarks>
/// For <c>i &lt; d/2</c>, angle <c>θ = pos · base^(−2i/d)</c>: <c>x[i] ← x[i]cosθ − x[i+d/2]sinθ</c>,
/// <c>x[i+d/2] ← x[i+d/2]cosθ + x[i]sinθ</c> (Su et al. 2021; flash-attn <c>apply_rotary_emb</c>, interleaved=False).
/// Angles are computed in double so positions in the millions keep their phase. Stateless; safe from any thread.
/// </remarks>
public static class Rotary
{
    /// <summary>Fills <paramref name="cos"/> and <paramref name="sin"/> (each <c>rotaryDim/2</c>) for <paramref name="position"/>.</summary>
    public static void Angles(long position, int rotaryDim, double theta, Span<float> cos, Span<float> sin)
    {
        int half = rotaryDim / 2;
        if (cos.Length < half) ThrowHelper.TooShort(nameof(cos), cos.Length, half);
        if (sin.Length < half) ThrowHelper.TooShort(nameof(sin), sin.Length, half);
        for (int i = 0; i < half; i++)
        {
            double invFreq = 1.0 / Math.Pow(theta, 2.0 * i / rotaryDim);
            double a = position * invFreq;
            cos[i] = (float)Math.Cos(a);
            sin[i] = (float)Math.Sin(a);
        }
    }

    /// <summary>Rotates the first <c>2·cos.Length</c> elements of one head in place.</summary>
    public static void ApplyNeoX(Span<float> head, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin)
    {
        int half = cos.Length;
        if (head.Length < 2 * half) ThrowHelper.TooShort(nameof(head), head.Length, 2 * half);
        for (int i = 0; i < half; i++)
        {
            float x1 = head[i], x2 = head[i + half];
            head[i] = x1 * cos[i] - x2 * sin[i];
            head[i + half] = x2 * cos[i] + x1 * sin[i];
        }
    }
}
