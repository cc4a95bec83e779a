using EdgeRuntime.Core.Kernels;
using EdgeRuntime.Core.Tensors;
using EdgeRuntime.Core.Threading;
using EdgeRuntime.Models.Formats;

namespace EdgeRuntime.Models.Families.TransNormer;

/// <summary>TransNormerLLM's channel mixer: <c>GLU(x) = l3(act(l1(x)) ⊙ l2(x))</c>, with <c>act</c> the identity by default (SGLU).</summary>
/// <remarks>
/// Reference: HF <c>modeling_transnormer.py</c> <c>GLU</c>; the TransNormerLLM paper's Simple GLU (SGLU) drops the activation,
/// and the golden checkpoint (no <c>glu_act</c> key) confirms it. Immutable; shareable across sessions.
/// </remarks>
internal sealed class GluChannelMixer
{
    private readonly WeightMatrix _l1;   // (glu_dim, d)
    private readonly WeightMatrix _l2;   // (glu_dim, d)
    private readonly WeightMatrix _l3;   // (d, glu_dim)
    private readonly float[] _b1, _b2, _b3;
    private readonly TransNormerActivation _act;

    private GluChannelMixer(WeightMatrix l1, WeightMatrix l2, WeightMatrix l3, float[] b1, float[] b2, float[] b3, TransNormerActivation act)
    {
        (_l1, _l2, _l3, _b1, _b2, _b3, _act) = (l1, l2, l3, b1, b2, b3, act);
    }

    /// <summary>Inner width.</summary>
    public int GluDim => _l1.Rows;

    /// <summary>Loads <c>{prefix}.l1</c>, <c>.l2</c>, <c>.l3</c> (with biases when <c>config.bias</c>).</summary>
    public static GluChannelMixer Load(WeightSource w, string prefix, TransNormerConfig c)
    {
        string hint = $"decoder_embed_dim {c.EmbedDim}, glu_dim {c.GluDim} from config";
        var l1 = w.Matrix($"{prefix}.l1.weight", c.GluDim, c.EmbedDim, hint);
        var l2 = w.Matrix($"{prefix}.l2.weight", c.GluDim, c.EmbedDim, hint);
        var l3 = w.Matrix($"{prefix}.l3.weight", c.EmbedDim, c.GluDim, hint);
        var b1 = w.OptionalVector($"{prefix}.l1.bias", c.GluDim, c.Bias, hint);
        var b2 = w.OptionalVector($"{prefix}.l2.bias", c.GluDim, c.Bias, hint);
        var b3 = w.OptionalVector($"{prefix}.l3.bias", c.EmbedDim, c.Bias, hint);
        return new GluChannelMixer(l1, l2, l3, b1, b2, b3, c.GluActivation);
    }

    /// <summary>Computes <paramref name="y"/> <c>(tokens, d)</c> from <paramref name="x"/> <c>(tokens, d)</c>.</summary>
    /// <param name="pool">Workers for the linear layers.</param>
    /// <param name="x">Normalised input rows.</param>
    /// <param name="gate">Scratch <c>(tokens, glu_dim)</c>: <c>l1(x)</c>, then the gated product.</param>
    /// <param name="up">Scratch <c>(tokens, glu_dim)</c>: <c>l2(x)</c>.</param>
    /// <param name="y">Output rows; may alias <paramref name="x"/>.</param>
    /// <param name="tokens">Row count.</param>
    public void Forward(WorkerPool pool, ReadOnlySpan<float> x, Span<float> gate, Span<float> up, Span<float> y, int tokens)
    {
        int n = tokens * GluDim;
        Linear.Forward(pool, _l1, _b1, x, gate, tokens);
        Linear.Forward(pool, _l2, _b2, x, up, tokens);
        var g = gate[..n];
        if (_act == TransNormerActivation.Silu)
        {
            Activations.SwiGlu(up[..n], g, g);   // up · silu(l1 x)
        }
        else
        {
            TransNormerActivations.Apply(_act, g);   // identity for SGLU
            System.Numerics.Tensors.TensorPrimitives.Multiply(g, up[..n], g);
        }
        Linear.Forward(pool, _l3, _b3, g, y, tokens);
    }
}
