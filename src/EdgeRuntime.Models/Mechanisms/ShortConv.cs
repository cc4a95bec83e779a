using System.Numerics.Tensors;
using EdgeRuntime.Core;
using EdgeRuntime.Core.Kernels;
using EdgeRuntime.Core.Tensors;
using EdgeRuntime.Core.Threading;
using EdgeRuntime.Models.Formats;

namespace EdgeRuntime.Models.Mechanisms;

/// <summary>BASED's gated short convolution (<c>BaseConv</c>): a causal depthwise convolution over one half of a projection, gated by the other half.</summary>
/// <remarks>
/// Arora et al. 2024, "Simple linear attention language models balance the recall-throughput tradeoff" (BASED), §3.
/// Reference: HazyResearch/based@32c1bd4 based/models/mixers/convolution.py (<c>BaseConv</c>, <c>ShortConvolution</c>).
/// <code>
/// u = in_proj(x);  u1 = u[:inner], u2 = u[inner:]
/// c_t[ch] = Σ_{j&lt;k} w[ch, j] · u1_{t−(k−1)+j}[ch] (+ b[ch])      (zeros before the first token)
/// y = out_proj(silu(c) ⊙ u2)
/// </code>
/// State: the last <c>k − 1</c> vectors <c>u1</c>, oldest first (<see cref="StateLength"/> floats), zeros initially.
/// Immutable after loading; safe to share. Each call needs its own state and scratch.
/// </remarks>
public sealed class ShortConv
{
    private readonly WeightMatrix _inProj;   // (2·inner, hidden)
    private readonly float[] _inBias;        // empty or 2·inner
    private readonly float[] _taps;          // (kernel, inner): tap-major transpose of conv.conv.weight (inner, 1, kernel)
    private readonly float[] _convBias;      // empty or inner (present only when the checkpoint has it)
    private readonly WeightMatrix _outProj;  // (hidden, inner)
    private readonly float[] _outBias;       // empty or hidden

    private ShortConv(WeightMatrix inProj, float[] inBias, float[] taps, float[] convBias, WeightMatrix outProj, float[] outBias, int kernelSize)
    {
        _inProj = inProj;
        _inBias = inBias;
        _taps = taps;
        _convBias = convBias;
        _outProj = outProj;
        _outBias = outBias;
        KernelSize = kernelSize;
        HiddenSize = outProj.Rows;
        InnerSize = outProj.Cols;
    }

    /// <summary>Model width <c>d</c>.</summary>
    public int HiddenSize { get; }

    /// <summary>Convolved channels <c>expand_proj·d/2</c>.</summary>
    public int InnerSize { get; }

    /// <summary>Taps <c>k</c>.</summary>
    public int KernelSize { get; }

    /// <summary>Floats of state: <c>(k − 1)·InnerSize</c>.</summary>
    public int StateLength => (KernelSize - 1) * InnerSize;

    /// <summary>Floats of scratch <see cref="Prefill"/> needs for <paramref name="tokens"/> tokens (Step: 1).</summary>
    public int ScratchLength(int tokens) => tokens * 3 * InnerSize;

    /// <summary>Loads <c>{prefix}.in_proj</c>, <c>{prefix}.conv.conv</c> and <c>{prefix}.out_proj</c>.</summary>
    /// <param name="weights">Source of the tensors.</param>
    /// <param name="prefix">E.g. <c>transformer.layers.0.mixer</c>.</param>
    /// <param name="hiddenSize">Model width <c>d</c>.</param>
    /// <param name="expandProjection"><c>expand_proj</c>; <c>expand_proj·d</c> must be even.</param>
    /// <param name="kernelSize">Taps.</param>
    /// <param name="bias"><c>use_bias</c>: biases on both projections.</param>
    /// <exception cref="ModelFormatException">A tensor is missing or has the wrong shape.</exception>
    public static ShortConv Load(WeightSource weights, string prefix, int hiddenSize, int expandProjection, int kernelSize, bool bias)
    {
        int inner = expandProjection * hiddenSize / 2;
        string hint = $"n_embd {hiddenSize}, expand_proj {expandProjection}, kernel size {kernelSize} from config";
        var inProj = weights.Matrix($"{prefix}.in_proj.weight", 2 * inner, hiddenSize, hint);
        var inBias = weights.OptionalVector($"{prefix}.in_proj.bias", 2 * inner, bias, hint);
        var w = weights.Floats($"{prefix}.conv.conv.weight", [inner, 1, kernelSize], hint);
        var taps = new float[kernelSize * inner];
        for (int ch = 0; ch < inner; ch++)
            for (int j = 0; j < kernelSize; j++)
                taps[j * inner + ch] = w[ch * kernelSize + j];
        string convBiasName = $"{prefix}.conv.conv.bias";
        var convBias = weights.Contains(convBiasName) ? weights.Vector(convBiasName, inner, hint) : [];
        var outProj = weights.Matrix($"{prefix}.out_proj.weight", hiddenSize, inner, hint);
        var outBias = weights.OptionalVector($"{prefix}.out_proj.bias", hiddenSize, bias, hint);
        return new ShortConv(inProj, inBias, taps, convBias, outProj, outBias, kernelSize);
    }

    /// <summary>Recurrent form: one token.</summary>
    /// <param name="pool">Workers for the projections.</param>
    /// <param name="x">Input, <see cref="HiddenSize"/> floats.</param>
    /// <param name="state">This layer's <see cref="StateLength"/> floats, updated in place.</param>
    /// <param name="y">Output, <see cref="HiddenSize"/> floats.</param>
    /// <param name="scratch"><see cref="ScratchLength"/>(1) floats.</param>
    /// <remarks>Allocates nothing. The convolution of one token is its own chunked form, so this is <see cref="Prefill"/> of 1.</remarks>
    public void Step(WorkerPool pool, ReadOnlySpan<float> x, Span<float> state, Span<float> y, Span<float> scratch) =>
        Prefill(pool, x, 1, state, y, scratch);

    /// <summary>Parallel form over <paramref name="tokens"/> tokens; equal to that many <see cref="Step"/> calls.</summary>
    /// <param name="pool">Workers for the projections.</param>
    /// <param name="x">Inputs <c>(tokens, HiddenSize)</c>.</param>
    /// <param name="tokens">Token count.</param>
    /// <param name="state">This layer's state, updated in place.</param>
    /// <param name="y">Outputs <c>(tokens, HiddenSize)</c>; must not overlap x.</param>
    /// <param name="scratch"><see cref="ScratchLength"/>(tokens) floats.</param>
    public void Prefill(WorkerPool pool, ReadOnlySpan<float> x, int tokens, Span<float> state, Span<float> y, Span<float> scratch)
    {
        int inner = InnerSize, k = KernelSize, width = 2 * inner, history = k - 1;
        if (state.Length < StateLength) ThrowHelper.TooShort(nameof(state), state.Length, StateLength);
        if (scratch.Length < ScratchLength(tokens)) ThrowHelper.TooShort(nameof(scratch), scratch.Length, ScratchLength(tokens));
        var u = scratch[..(tokens * width)];                            // (tokens, 2·inner): u1 | u2 per row
        var v = scratch.Slice(tokens * width, tokens * inner);          // (tokens, inner): gated conv output

        // 1. Project: u = in_proj(x).
        Linear.Forward(pool, _inProj, _inBias, x, u, tokens);

        // 2. Causal depthwise convolution of u1 over [state; u1], then v = silu(c) ⊙ u2.
        for (int t = 0; t < tokens; t++)
        {
            var c = v.Slice(t * inner, inner);
            if (_convBias.Length != 0) _convBias.CopyTo(c);
            else c.Clear();
            for (int j = 0; j < k; j++)
            {
                int src = t - history + j;                              // token index of this tap; < 0 lies in the state
                ReadOnlySpan<float> input = src >= 0 ? u.Slice(src * width, inner) : state.Slice((history + src) * inner, inner);
                TensorPrimitives.MultiplyAdd(input, _taps.AsSpan(j * inner, inner), c, c);
            }
            Activations.SiluInPlace(c);
            TensorPrimitives.Multiply(c, u.Slice(t * width + inner, inner), c);
        }

        // 3. Keep the last k − 1 inputs u1 as the new state, oldest first.
        if (history > 0)
        {
            int keep = Math.Max(0, history - tokens);                   // old rows that stay
            if (keep > 0) state.Slice((history - keep) * inner, keep * inner).CopyTo(state);
            for (int r = keep; r < history; r++)
                u.Slice((tokens - history + r) * width, inner).CopyTo(state.Slice(r * inner, inner));
        }

        // 4. Project back: y = out_proj(v).
        Linear.Forward(pool, _outProj, _outBias, v, y, tokens);
    }
}
