using System.Numerics.Tensors;
using EdgeRuntime.Core.Kernels;
using EdgeRuntime.Core.Tensors;
using EdgeRuntime.Core.Threading;
using EdgeRuntime.Models.Formats;
using EdgeRuntime.Models.Mechanisms;

namespace EdgeRuntime.Models.Families.Aaren;

/// <summary>One pre-norm Aaren block: <c>h += out_proj(Aaren(norm1(h)))</c>, then <c>h += fc2(act(fc1(norm2(h))))</c>.</summary>
/// <remarks>Immutable after <see cref="Load"/>; may be shared. Each call works on a session's scratch and state.</remarks>
internal sealed class AarenLayer
{
    private readonly float[] _norm1Weight, _norm1Bias;   // (d)
    private readonly AarenAttention _attention;          // query (n_head, head_dim)
    private readonly WeightMatrix _keyProj, _valueProj;  // (d, d)
    private readonly float[] _keyBias, _valueBias;       // (d)
    private readonly WeightMatrix _outProj;              // (d, d)
    private readonly float[] _outBias;                   // (d)
    private readonly float[] _norm2Weight, _norm2Bias;   // (d)
    private readonly WeightMatrix _fc1;                  // (mlp_hidden, d)
    private readonly float[] _fc1Bias;                   // (mlp_hidden)
    private readonly WeightMatrix _fc2;                  // (d, mlp_hidden)
    private readonly float[] _fc2Bias;                   // (d)
    private readonly float _eps;
    private readonly AarenActivation _activation;

    private AarenLayer(WeightSource w, string prefix, AarenConfig c)
    {
        int d = c.HiddenSize, hidden = c.MlpHiddenSize;
        string dHint = $"d_model {d} from config";
        _norm1Weight = w.Vector($"{prefix}.norm1.weight", d, dHint);
        _norm1Bias = w.Vector($"{prefix}.norm1.bias", d, dHint);
        var query = w.Floats($"{prefix}.attn.query", [c.HeadCount, c.HeadSize], $"n_head {c.HeadCount}, head_dim {c.HeadSize} from config");
        _attention = new AarenAttention(query, c.HeadCount, c.HeadSize);
        _keyProj = w.Matrix($"{prefix}.attn.k_proj.weight", d, d, dHint);
        _keyBias = w.Vector($"{prefix}.attn.k_proj.bias", d, dHint);
        _valueProj = w.Matrix($"{prefix}.attn.v_proj.weight", d, d, dHint);
        _valueBias = w.Vector($"{prefix}.attn.v_proj.bias", d, dHint);
        _outProj = w.Matrix($"{prefix}.attn.out_proj.weight", d, d, dHint);
        _outBias = w.Vector($"{prefix}.attn.out_proj.bias", d, dHint);
        _norm2Weight = w.Vector($"{prefix}.norm2.weight", d, dHint);
        _norm2Bias = w.Vector($"{prefix}.norm2.bias", d, dHint);
        string mlpHint = $"mlp_hidden {hidden}, d_model {d} from config";
        _fc1 = w.Matrix($"{prefix}.mlp.fc1.weight", hidden, d, mlpHint);
        _fc1Bias = w.Vector($"{prefix}.mlp.fc1.bias", hidden, mlpHint);
        _fc2 = w.Matrix($"{prefix}.mlp.fc2.weight", d, hidden, mlpHint);
        _fc2Bias = w.Vector($"{prefix}.mlp.fc2.bias", d, mlpHint);
        _eps = (float)c.LayerNormEpsilon;
        _activation = AarenActivations.Parse(c.Activation);
    }

    /// <summary>The block's attention mechanism (for its state length and initial state).</summary>
    public AarenAttention Attention => _attention;

    /// <summary>Loads <c>{prefix}.*</c> (e.g. <c>layers.0</c>), checking every shape against the config.</summary>
    public static AarenLayer Load(WeightSource w, string prefix, AarenConfig c) => new(w, prefix, c);

    /// <summary>Runs the block over <paramref name="tokens"/> rows of <see cref="AarenScratch.Hidden"/>, in place.</summary>
    /// <param name="pool">Workers for the linear layers.</param>
    /// <param name="s">Session scratch; its hidden rows are the input and the output.</param>
    /// <param name="tokens">1 (recurrent step) up to the scratch's block.</param>
    /// <param name="state">This block's slice of the session state (<see cref="AarenAttention.StateLength"/> floats).</param>
    public void Forward(WorkerPool pool, AarenScratch s, int tokens, Span<float> state)
    {
        int d = _attention.Width;
        var h = s.Hidden(tokens);
        var z = s.Normed(tokens);
        var k = s.Keys(tokens);
        var v = s.Values(tokens);
        var o = s.Mixed(tokens);
        var delta = s.Delta(tokens);
        var u = s.Mlp(tokens);

        // 1. z = norm1(h), row by row.
        for (int t = 0; t < tokens; t++)
            LayerNorm.Forward(h.Slice(t * d, d), _norm1Weight, _norm1Bias, _eps, z.Slice(t * d, d));

        // 2. k = k_proj(z), v = v_proj(z): (tokens, d) each, heads are contiguous slices.
        Linear.Forward(pool, _keyProj, _keyBias, z, k, tokens);
        Linear.Forward(pool, _valueProj, _valueBias, z, v, tokens);

        // 3. o = Aaren(k, v): the recurrence for one step, the chunked prefix scan for many.
        if (tokens == 1) _attention.Step(k, v, state, o);
        else _attention.Prefill(k, v, tokens, state, o, s.Scan);

        // 4. h += out_proj(o).
        Linear.Forward(pool, _outProj, _outBias, o, delta, tokens);
        TensorPrimitives.Add(h, delta, h);

        // 5. h += fc2(act(fc1(norm2(h)))).
        for (int t = 0; t < tokens; t++)
            LayerNorm.Forward(h.Slice(t * d, d), _norm2Weight, _norm2Bias, _eps, z.Slice(t * d, d));
        Linear.Forward(pool, _fc1, _fc1Bias, z, u, tokens);
        AarenActivations.Apply(_activation, u);
        Linear.Forward(pool, _fc2, _fc2Bias, u, delta, tokens);
        TensorPrimitives.Add(h, delta, h);
    }
}

/// <summary>The MLP activations an Aaren config may name.</summary>
internal enum AarenActivation
{
    /// <summary>Exact erf GELU (PyTorch <c>nn.GELU()</c>).</summary>
    Gelu,

    /// <summary><c>max(x, 0)</c>.</summary>
    Relu,

    /// <summary><c>x·σ(x)</c>.</summary>
    Silu,
}

/// <summary>Parses and applies <see cref="AarenActivation"/>.</summary>
/// <remarks>Stateless; safe from any thread.</remarks>
internal static class AarenActivations
{
    /// <summary>Maps the config string (already validated by <see cref="AarenConfig.Validate"/>).</summary>
    public static AarenActivation Parse(string name) => name switch
    {
        "gelu" => AarenActivation.Gelu,
        "relu" => AarenActivation.Relu,
        "silu" => AarenActivation.Silu,
        _ => throw new ArgumentException($"aaren: activation '{name}': expected 'gelu', 'relu' or 'silu'", nameof(name)),
    };

    /// <summary>Applies the activation in place.</summary>
    public static void Apply(AarenActivation activation, Span<float> x)
    {
        switch (activation)
        {
            case AarenActivation.Gelu: Activations.Gelu(x, x); break;
            case AarenActivation.Relu: TensorPrimitives.Max(x, 0f, x); break;
            default: Activations.SiluInPlace(x); break;
        }
    }
}
