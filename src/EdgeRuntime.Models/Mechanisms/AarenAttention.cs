using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using EdgeRuntime.Core;

namespace EdgeRuntime.Models.Mechanisms;

/// <summary>Aaren attention: softmax attention of one learned query per head over all past keys, kept as a running
/// (max, denominator, numerator) so each step costs O(head size) and the state has a fixed size.</summary>
/// <remarks>
/// <para>Feng et al. 2024, "Attention as an RNN" (arXiv:2405.13956), §3.1–3.2. Per head with query <c>q</c>:
/// <c>s_t = q·k_t</c> (no scaling), <c>o_t = Σ_{i≤t} softmax(s_1..s_t)_i v_i</c>, computed as
/// <c>m_t = max(m_{t−1}, s_t)</c>, <c>c_t = c_{t−1}e^{m_{t−1}−m_t} + e^{s_t−m_t}</c>,
/// <c>a_t = a_{t−1}e^{m_{t−1}−m_t} + v_t e^{s_t−m_t}</c>, <c>o_t = a_t / c_t</c>, from <c>(m_0, c_0, a_0) = (−∞, 0, 0)</c>.</para>
/// <para>The parallel form (<see cref="Prefill"/>) is the paper's prefix scan with the associative operator
/// <c>(m₁,c₁,a₁) ⊕ (m₂,c₂,a₂) = (m, c₁e^{m₁−m} + c₂e^{m₂−m}, a₁e^{m₁−m} + a₂e^{m₂−m})</c>, <c>m = max(m₁, m₂)</c>, where
/// <c>e^{−∞−m}</c> is taken as 0 (never evaluating −∞ − (−∞)). It runs in chunks: the chunk's local prefixes
/// <c>x₁ ⊕ … ⊕ x_j</c> are formed from the identity, and each is combined with the carry <c>state</c> (the prefix of
/// everything before the chunk); the carry then advances to <c>state ⊕ (x₁ ⊕ … ⊕ x_L)</c>.</para>
/// <para>Numerics: scores are dot products in double rounded once to float; every exponent is a difference of two
/// float values evaluated in double, so the max used to scale a term and the max later used to rescale it are the same
/// number and weights stay within [0, 1] (no overflow for scores in the hundreds or thousands).</para>
/// <para>State layout per head (<see cref="HeadStateLength"/> = head size + 2 floats, heads consecutive):
/// <c>[m, c, a_0 … a_{D−1}]</c>; the empty state has <c>m = −∞</c> (not zero), see <see cref="InitState"/>.</para>
/// The query is immutable after construction, so an instance may be shared; each session passes its own state.
/// </remarks>
public sealed class AarenAttention
{
    /// <summary>Offset of the running max <c>m</c> inside a head's state.</summary>
    public const int MaxOffset = 0;

    /// <summary>Offset of the running denominator <c>c</c> inside a head's state.</summary>
    public const int DenominatorOffset = 1;

    /// <summary>Offset of the running numerator <c>a</c> (head size floats) inside a head's state.</summary>
    public const int NumeratorOffset = 2;

    private readonly float[] _query; // (HeadCount, HeadSize)

    /// <summary>Creates the mechanism around the learned queries.</summary>
    /// <param name="query"><c>(headCount, headSize)</c> row-major; kept (not copied).</param>
    /// <param name="headCount">Heads.</param>
    /// <param name="headSize">Floats per head.</param>
    /// <exception cref="ArgumentException">Non-positive sizes or a query of the wrong length.</exception>
    public AarenAttention(float[] query, int headCount, int headSize)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (headCount <= 0) ThrowHelper.OutOfRange(nameof(headCount), headCount, "> 0");
        if (headSize <= 0) ThrowHelper.OutOfRange(nameof(headSize), headSize, "> 0");
        if (query.Length != headCount * headSize) ThrowHelper.LengthMismatch(nameof(query), query.Length, headCount * headSize);
        _query = query;
        HeadCount = headCount;
        HeadSize = headSize;
    }

    /// <summary>Heads.</summary>
    public int HeadCount { get; }

    /// <summary>Floats per head.</summary>
    public int HeadSize { get; }

    /// <summary>Width of keys, values and outputs: <c>HeadCount × HeadSize</c>.</summary>
    public int Width => HeadCount * HeadSize;

    /// <summary>Floats of one head's state: <c>m</c>, <c>c</c> and <c>a</c> (head size).</summary>
    public int HeadStateLength => HeadSize + 2;

    /// <summary>Floats of the whole state: <c>HeadCount × HeadStateLength</c>.</summary>
    public int StateLength => HeadCount * HeadStateLength;

    /// <summary>Scratch floats <see cref="Prefill"/> needs to scan chunks of <paramref name="chunk"/> steps.</summary>
    public static int PrefillScratchLength(int chunk) => 2 * chunk;

    /// <summary>Writes the empty-history state: per head <c>m = −∞</c> (float.NegativeInfinity), <c>c = 0</c>, <c>a = 0</c>.</summary>
    /// <param name="state"><see cref="StateLength"/> floats, caller-owned.</param>
    public void InitState(Span<float> state)
    {
        if (state.Length != StateLength) ThrowHelper.LengthMismatch(nameof(state), state.Length, StateLength);
        state.Clear();
        for (int h = 0; h < HeadCount; h++) state[h * HeadStateLength + MaxOffset] = float.NegativeInfinity;
    }

    /// <summary>Recurrent form: consumes one step.</summary>
    /// <param name="k">Keys, <see cref="Width"/> floats.</param>
    /// <param name="v">Values, <see cref="Width"/> floats.</param>
    /// <param name="state"><see cref="StateLength"/> floats, updated in place.</param>
    /// <param name="output"><see cref="Width"/> floats: <c>o_t</c> per head. May alias <paramref name="v"/> or <paramref name="k"/>.</param>
    /// <remarks>Allocates nothing.</remarks>
    public void Step(ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> state, Span<float> output)
    {
        int d = HeadSize, width = Width;
        if (k.Length != width) ThrowHelper.LengthMismatch(nameof(k), k.Length, width);
        if (v.Length != width) ThrowHelper.LengthMismatch(nameof(v), v.Length, width);
        if (state.Length != StateLength) ThrowHelper.LengthMismatch(nameof(state), state.Length, StateLength);
        if (output.Length != width) ThrowHelper.LengthMismatch(nameof(output), output.Length, width);
        for (int h = 0; h < HeadCount; h++)
        {
            var hs = state.Slice(h * (d + 2), d + 2);
            var a = hs.Slice(NumeratorOffset, d);
            float s = Score(_query.AsSpan(h * d, d), k.Slice(h * d, d));
            float m0 = hs[MaxOffset];
            float m = MathF.Max(m0, s);
            float alpha = Scale(m0, m), beta = Scale(s, m);
            hs[MaxOffset] = m;
            float c = hs[DenominatorOffset] * alpha + beta;
            hs[DenominatorOffset] = c;
            // a ← a·α + v·β, then o = a / c.
            TensorPrimitives.Multiply(a, alpha, a);
            TensorPrimitives.MultiplyAdd(v.Slice(h * d, d), beta, a, a);
            Normalise(a, c, output.Slice(h * d, d));
        }
    }

    /// <summary>Parallel form: consumes <paramref name="tokens"/> steps with a chunked prefix scan; equal to
    /// <paramref name="tokens"/> calls of <see cref="Step"/> up to rounding.</summary>
    /// <param name="k">Keys <c>(tokens, Width)</c>, row-major.</param>
    /// <param name="v">Values <c>(tokens, Width)</c>, row-major.</param>
    /// <param name="tokens">Steps (0 leaves the state unchanged).</param>
    /// <param name="state"><see cref="StateLength"/> floats: the carry, updated in place.</param>
    /// <param name="output"><c>(tokens, Width)</c>: <c>o_t</c> for every step; must not overlap k or v.</param>
    /// <param name="scratch">At least <see cref="PrefillScratchLength"/>(1) floats; the chunk length is
    /// <c>scratch.Length / 2</c> steps.</param>
    /// <remarks>Allocates nothing.</remarks>
    public void Prefill(ReadOnlySpan<float> k, ReadOnlySpan<float> v, int tokens, Span<float> state, Span<float> output, Span<float> scratch)
    {
        int d = HeadSize, width = Width;
        if (tokens < 0) ThrowHelper.OutOfRange(nameof(tokens), tokens, ">= 0");
        long need = (long)tokens * width;
        if (k.Length < need) ThrowHelper.TooShort(nameof(k), k.Length, (int)need);
        if (v.Length < need) ThrowHelper.TooShort(nameof(v), v.Length, (int)need);
        if (output.Length < need) ThrowHelper.TooShort(nameof(output), output.Length, (int)need);
        if (state.Length != StateLength) ThrowHelper.LengthMismatch(nameof(state), state.Length, StateLength);
        if (scratch.Length < 2) ThrowHelper.TooShort(nameof(scratch), scratch.Length, 2);
        int chunk = scratch.Length / 2;
        var localMax = scratch[..chunk];
        var localDen = scratch.Slice(chunk, chunk);
        for (int t0 = 0; t0 < tokens; t0 += chunk)
        {
            int len = Math.Min(chunk, tokens - t0);
            for (int h = 0; h < HeadCount; h++)
            {
                var query = _query.AsSpan(h * d, d);
                // 1. Local prefixes x₁ ⊕ … ⊕ x_j from the identity (−∞, 0, 0); a_j goes straight into the output row.
                float m = float.NegativeInfinity, c = 0f;
                for (int j = 0; j < len; j++)
                {
                    int row = (t0 + j) * width + h * d;
                    float s = Score(query, k.Slice(row, d));
                    float mNew = MathF.Max(m, s);
                    float alpha = Scale(m, mNew), beta = Scale(s, mNew);
                    c = c * alpha + beta;
                    var aj = output.Slice(row, d);
                    if (j == 0) TensorPrimitives.Multiply(v.Slice(row, d), beta, aj);
                    else
                    {
                        TensorPrimitives.Multiply(output.Slice(row - width, d), alpha, aj);
                        TensorPrimitives.MultiplyAdd(v.Slice(row, d), beta, aj, aj);
                    }
                    m = mNew;
                    localMax[j] = m;
                    localDen[j] = c;
                }

                // 2. Combine each local prefix with the carry: o_j = (a₀e^{m₀−M} + a_j e^{m_j−M}) / (c₀e^{m₀−M} + c_j e^{m_j−M}).
                var hs = state.Slice(h * (d + 2), d + 2);
                var carry = hs.Slice(NumeratorOffset, d);
                float m0 = hs[MaxOffset], c0 = hs[DenominatorOffset];
                for (int j = 0; j < len; j++)
                {
                    int row = (t0 + j) * width + h * d;
                    var aj = output.Slice(row, d);
                    float mj = localMax[j];
                    float mm = MathF.Max(m0, mj);
                    float f0 = Scale(m0, mm), fj = Scale(mj, mm);
                    float cc = c0 * f0 + localDen[j] * fj;
                    if (j == len - 1)
                    {
                        // 3. Advance the carry to state ⊕ (whole chunk) before the last row is normalised.
                        TensorPrimitives.Multiply(carry, f0, carry);
                        TensorPrimitives.MultiplyAdd(aj, fj, carry, carry);
                        hs[MaxOffset] = mm;
                        hs[DenominatorOffset] = cc;
                        Normalise(carry, cc, aj);
                    }
                    else if (cc > 0f)
                    {
                        // o_j = a₀·(f₀/cc) + a_j·(f_j/cc), in place over a_j.
                        TensorPrimitives.Multiply(aj, fj / cc, aj);
                        TensorPrimitives.MultiplyAdd(carry, f0 / cc, aj, aj);
                    }
                    else aj.Clear();
                }
            }
        }
    }

    /// <summary>Naive quadratic form in double: for every <c>t</c>, the softmax over <c>s_1..s_t</c> applied to
    /// <c>v_1..v_t</c>, from empty history (the definition the recurrence must reproduce).</summary>
    /// <param name="k">Keys <c>(tokens, Width)</c>.</param>
    /// <param name="v">Values <c>(tokens, Width)</c>.</param>
    /// <param name="tokens">Steps.</param>
    /// <param name="output"><c>(tokens, Width)</c>.</param>
    internal void Reference(ReadOnlySpan<float> k, ReadOnlySpan<float> v, int tokens, Span<float> output)
    {
        int d = HeadSize, width = Width;
        var scores = new double[tokens];
        var acc = new double[d];
        for (int h = 0; h < HeadCount; h++)
        {
            for (int t = 0; t < tokens; t++)
            {
                double s = 0;
                for (int i = 0; i < d; i++) s += (double)_query[h * d + i] * k[t * width + h * d + i];
                scores[t] = s;
            }
            for (int t = 0; t < tokens; t++)
            {
                double max = double.NegativeInfinity;
                for (int i = 0; i <= t; i++) max = Math.Max(max, scores[i]);
                double den = 0;
                Array.Clear(acc);
                for (int i = 0; i <= t; i++)
                {
                    double w = Math.Exp(scores[i] - max);
                    den += w;
                    for (int j = 0; j < d; j++) acc[j] += w * v[i * width + h * d + j];
                }
                for (int j = 0; j < d; j++) output[t * width + h * d + j] = (float)(acc[j] / den);
            }
        }
    }

    // s = q·k accumulated in double, rounded once to float (the value stored as m and reused in every exponent).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Score(ReadOnlySpan<float> q, ReadOnlySpan<float> k)
    {
        double s = 0;
        for (int i = 0; i < q.Length; i++) s += (double)q[i] * k[i];
        return (float)s;
    }

    // e^{x−m} for x ≤ m, with e^{−∞−m} = 0 even when m = −∞ (the identity element has no weight).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Scale(float x, float m) =>
        float.IsNegativeInfinity(x) ? 0f : (float)Math.Exp((double)x - m);

    // o = a / c; an all-empty history (c = 0, only reachable with −∞ scores) yields 0 instead of 0/0.
    private static void Normalise(ReadOnlySpan<float> a, float c, Span<float> output)
    {
        if (c > 0f) TensorPrimitives.Divide(a, c, output);
        else output.Clear();
    }
}
