using System.Numerics.Tensors;
using EdgeRuntime.Core.Kernels;
using EdgeRuntime.Core.Tensors;
using EdgeRuntime.Core.Threading;
using EdgeRuntime.Models.Formats;
using EdgeRuntime.Models.Mechanisms;

namespace EdgeRuntime.Models.Families.TransNormer;

/// <summary>TransNormerLLM's token mixer: gated, normalised Lightning attention.</summary>
/// <remarks>
/// <c>q, k, v, u = split(qkvu_proj(x), 4)</c>; <c>q, k ← act(q), act(k)</c>; <c>o = LightningAttention(q, k, v)</c> (LRPE in
/// the layers <c>linear_use_lrpe_list</c> marks); <c>y = out_proj(u ⊙ SRMSNorm(o))</c>, the norm over all of <c>hidden_dim</c>.
/// Reference: HF <c>modeling_transnormer.py</c> <c>NormLinearAttention</c>. Immutable; shareable across sessions.
/// </remarks>
internal sealed class NormLinearAttention
{
    private readonly WeightMatrix _qkvu;   // (4·hidden_dim, d): rows q | k | v | u, heads contiguous in each
    private readonly WeightMatrix _out;    // (d, hidden_dim)
    private readonly float[] _qkvuBias, _outBias;
    private readonly TransNormerActivation _act;
    private readonly float _eps;

    private NormLinearAttention(WeightMatrix qkvu, WeightMatrix output, float[] qkvuBias, float[] outBias, TransNormerActivation act, float eps, LightningAttention attention)
    {
        (_qkvu, _out, _qkvuBias, _outBias, _act, _eps, Attention) = (qkvu, output, qkvuBias, outBias, act, eps, attention);
    }

    /// <summary>The decay linear attention of this layer (slopes, LRPE, state size).</summary>
    public LightningAttention Attention { get; }

    /// <summary>Width of q, k, v and u.</summary>
    public int HiddenDim => _out.Cols;

    /// <summary>Loads <c>{prefix}.qkvu_proj</c>, <c>.out_proj</c> and, in LRPE layers, <c>.lrpe.theta</c> <c>(H, 1, head_size)</c>.</summary>
    public static NormLinearAttention Load(WeightSource w, string prefix, TransNormerConfig c, int layer, int prefillBlock)
    {
        string hint = $"decoder_embed_dim {c.EmbedDim}, hidden_dim {c.HiddenDim} from config";
        var qkvu = w.Matrix($"{prefix}.qkvu_proj.weight", 4 * c.HiddenDim, c.EmbedDim, hint);
        var output = w.Matrix($"{prefix}.out_proj.weight", c.EmbedDim, c.HiddenDim, hint);
        var qkvuBias = w.OptionalVector($"{prefix}.qkvu_proj.bias", 4 * c.HiddenDim, c.Bias, hint);
        var outBias = w.OptionalVector($"{prefix}.out_proj.bias", c.EmbedDim, c.Bias, hint);
        string thetaName = $"{prefix}.lrpe.theta";
        float[] theta = [];
        if (c.UsesLrpe(layer))
            theta = w.Floats(thetaName, [c.HeadCount, 1, c.HeadSize], $"decoder_attention_heads {c.HeadCount}, head size {c.HeadSize}; layer {layer} uses LRPE");
        else if (w.Contains(thetaName))
            throw w.Error($"tensor '{thetaName}' is present but linear_use_lrpe_list[{layer}] is 0 in the config");
        var attention = new LightningAttention(c.HeadCount, c.HeadSize, LightningAttention.LayerSlopes(c.HeadCount, layer, c.LayerCount), theta, prefillBlock);
        return new NormLinearAttention(qkvu, output, qkvuBias, outBias, c.QkActivation, (float)c.NormEps, attention);
    }

    /// <summary>Mixes <paramref name="tokens"/> normalised rows <paramref name="x"/> <c>(tokens, d)</c> into <paramref name="y"/> <c>(tokens, d)</c>.</summary>
    /// <param name="pool">Workers.</param>
    /// <param name="x">Normalised input rows.</param>
    /// <param name="qkvu">Scratch <c>(tokens, 4·hidden_dim)</c>.</param>
    /// <param name="attn">Scratch <c>(tokens, hidden_dim)</c>.</param>
    /// <param name="attnScratch">The mechanism's scratch, <see cref="LightningAttention.ScratchLength"/> floats.</param>
    /// <param name="state">This layer's <see cref="LightningAttention.StateLength"/> floats.</param>
    /// <param name="position">Absolute position of the first token.</param>
    /// <param name="y">Output rows; may alias <paramref name="x"/>.</param>
    /// <param name="tokens">Row count (at most the mechanism's block for the scratch sizes above).</param>
    /// <param name="recurrent">Use the one-token recurrence (<c>tokens</c> must be 1) instead of the block form.</param>
    public void Forward(WorkerPool pool, ReadOnlySpan<float> x, Span<float> qkvu, Span<float> attn, Span<float> attnScratch,
        Span<float> state, long position, Span<float> y, int tokens, bool recurrent)
    {
        int hd = HiddenDim, row = 4 * hd;
        // qkvu_proj, then act(q), act(k): q and k are adjacent in each row.
        Linear.Forward(pool, _qkvu, _qkvuBias, x, qkvu, tokens);
        for (int t = 0; t < tokens; t++) TransNormerActivations.Apply(_act, qkvu.Slice(t * row, 2 * hd));
        // Decay linear attention over all heads.
        if (recurrent)
            Attention.Step(pool, qkvu[..hd], qkvu.Slice(hd, hd), qkvu.Slice(2 * hd, hd), position, state, attn, attnScratch);
        else
            Attention.Prefill(pool, qkvu, qkvu[hd..], qkvu[(2 * hd)..], row, tokens, position, state, attn, hd, attnScratch);
        // SRMSNorm over hidden_dim, gate by u, out_proj.
        for (int t = 0; t < tokens; t++)
        {
            var o = attn.Slice(t * hd, hd);
            RmsNorm.ForwardSimple(o, _eps, o);
            TensorPrimitives.Multiply(o, qkvu.Slice(t * row + 3 * hd, hd), o);
        }
        Linear.Forward(pool, _out, _outBias, attn, y, tokens);
    }
}
