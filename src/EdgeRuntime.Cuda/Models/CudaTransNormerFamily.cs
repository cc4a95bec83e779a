using System.Globalization;
using EdgeRuntime.Cuda.Runtime;
using EdgeRuntime.Models.Families.TransNormer;
using EdgeRuntime.Models.Formats;
using EdgeRuntime.Models.Mechanisms;
using EdgeRuntime.Models.Sessions;

namespace EdgeRuntime.Cuda.Models;

/// <summary>TransNormerLLM on the GPU: the weights of <see cref="TransNormerModel"/> uploaded once and its decode step as kernels.</summary>
/// <remarks>
/// Qin et al., "TransNormerLLM", arXiv:2307.14995. Reference: OpenNLPLab/lightning-attention@d15c385 and HF
/// <c>modeling_transnormer.py</c>; tensor names, slopes (<see cref="LightningAttention.LayerSlopes"/>), LRPE and the state
/// layout are those of Families/TransNormer and Mechanisms/LightningAttention. Immutable after loading; shared by batches.
/// </remarks>
internal sealed class CudaTransNormerFamily : CudaFamily
{
    private readonly TransNormerConfig _c;
    private readonly DeviceMatrix _embed;   // (V, d)
    private readonly DeviceMatrix _head;    // (V, d)
    private readonly Layer[] _layers;
    private readonly float _embedScale, _eps;

    private sealed record Layer(int StateOffset, DeviceMatrix Qkvu, DeviceMatrix Out, ulong Theta, ulong Decay, int KeySize,
        DeviceMatrix L1, DeviceMatrix L2, DeviceMatrix L3);

    private sealed record Buffers(ulong X, ulong Xn, ulong Qkvu, ulong Attn, ulong Glu, ulong Gate);

    public CudaTransNormerFamily(CudaDevice device, WeightSource w, TransNormerConfig c, CudaWeightType weightType) : base(device, w, weightType)
    {
        _c = c;
        int d = c.EmbedDim, v = c.VocabSize;
        _embed = Weights.Matrix(w.Matrix("model.embed_tokens.weight", v, d, $"vocab_size {v}, decoder_embed_dim {d} from config"));
        _layers = new Layer[c.LayerCount];
        int offset = StatePosition.Length;
        for (int i = 0; i < c.LayerCount; i++)
        {
            string mixer = $"model.layers.{i}.token_mixer", glu = $"model.layers.{i}.channel_mixer";
            string hint = $"decoder_embed_dim {d}, hidden_dim {c.HiddenDim} from config";
            var qkvu = Weights.Matrix(w.Matrix($"{mixer}.qkvu_proj.weight", 4 * c.HiddenDim, d, hint),
                w.OptionalVector($"{mixer}.qkvu_proj.bias", 4 * c.HiddenDim, c.Bias, hint));
            var output = Weights.Matrix(w.Matrix($"{mixer}.out_proj.weight", d, c.HiddenDim, hint),
                w.OptionalVector($"{mixer}.out_proj.bias", d, c.Bias, hint));
            string thetaName = $"{mixer}.lrpe.theta";
            ulong theta = 0;
            if (c.UsesLrpe(i))
                theta = Weights.Floats(w.Floats(thetaName, [c.HeadCount, 1, c.HeadSize], $"decoder_attention_heads {c.HeadCount}, head size {c.HeadSize}; layer {i} uses LRPE"));
            else if (w.Contains(thetaName))
                throw w.Error($"tensor '{thetaName}' is present but linear_use_lrpe_list[{i}] is 0 in the config");
            // e^{−λ} per head, the decay LightningAttention.Step applies (0 beyond its e^{−69} cut-off).
            var slopes = LightningAttention.LayerSlopes(c.HeadCount, i, c.LayerCount);
            var decay = new float[slopes.Length];
            for (int h = 0; h < slopes.Length; h++) decay[h] = slopes[h] > 69.0 ? 0f : (float)Math.Exp(-slopes[h]);
            string gluHint = $"decoder_embed_dim {d}, glu_dim {c.GluDim} from config";
            var l1 = Weights.Matrix(w.Matrix($"{glu}.l1.weight", c.GluDim, d, gluHint), w.OptionalVector($"{glu}.l1.bias", c.GluDim, c.Bias, gluHint));
            var l2 = Weights.Matrix(w.Matrix($"{glu}.l2.weight", c.GluDim, d, gluHint), w.OptionalVector($"{glu}.l2.bias", c.GluDim, c.Bias, gluHint));
            var l3 = Weights.Matrix(w.Matrix($"{glu}.l3.weight", d, c.GluDim, gluHint), w.OptionalVector($"{glu}.l3.bias", d, c.Bias, gluHint));
            int keySize = theta != 0 ? 2 * c.HeadSize : c.HeadSize;
            _layers[i] = new Layer(offset, qkvu, output, theta, Weights.Floats(decay), keySize, l1, l2, l3);
            offset += c.HeadCount * keySize * c.HeadSize;
        }
        StateLength = offset;
        if (w.Contains("lm_head.weight"))
            _head = Weights.Matrix(w.Matrix("lm_head.weight", v, d, $"vocab_size {v}, decoder_embed_dim {d} from config"));
        else if (c.TieWordEmbeddings)
            _head = _embed;
        else
            throw w.Error("tensor 'lm_head.weight' is missing and tie_word_embeddings is false in the config");
        _embedScale = c.NoScaleEmbedding ? 1f : (float)Math.Sqrt(d);
        _eps = (float)c.NormEps;
        Info = new ModelInfo("transnormer", w.Location,
        [
            new("decoder_embed_dim", d.ToString(CultureInfo.InvariantCulture)),
            new("decoder_layers", c.LayerCount.ToString(CultureInfo.InvariantCulture)),
            new("vocab_size", v.ToString(CultureInfo.InvariantCulture)),
            new("device", device.Description),
        ], w.ParameterCount, w.WeightBytes, StateLength * 4L);
    }

    public override ModelInfo Info { get; }

    public override int StateLength { get; }

    public override int OutputLength => _head.Rows;

    public override int TokenLimit => _embed.Rows;

    public override void InitState(Span<float> state)
    {
        state.Clear();
        StatePosition.Set(state, 0, 0);
    }

    public override object CreateBuffers(CudaWorkspace ws)
    {
        int b = ws.Size, d = _c.EmbedDim, hd = _c.HiddenDim, g = _c.GluDim;
        return new Buffers(ws.Alloc((long)b * d), ws.Alloc((long)b * d), ws.Alloc((long)b * 4 * hd), ws.Alloc((long)b * hd),
            ws.Alloc((long)b * 2 * g), ws.Alloc((long)b * g));
    }

    public override void Record(StepRecorder r, bool head)
    {
        var ws = r.Workspace;
        var buf = (Buffers)ws.FamilyBuffers!;
        int d = _c.EmbedDim, hidden = _c.HiddenDim, row = 4 * hidden, g = _c.GluDim, hs = _c.HeadSize;

        // 1. x = embed_scale · E[token].
        r.Embed(_embed, _embedScale, null, buf.X, d);
        foreach (var L in _layers)
        {
            // 2. x += out_proj(SRMSNorm(LightningAttention(act(q), act(k), v)) ⊙ u), over SRMSNorm(x).
            r.RmsNorm(buf.X, d, 0, _eps, buf.Xn, d, d);
            r.Linear(L.Qkvu, buf.Xn, d, buf.Qkvu, row);
            r.Activation(Map(_c.QkActivation), buf.Qkvu, row, 2 * hidden);
            r.Add("lightning_step", (uint)_c.HeadCount, (uint)r.Tokens, StepRecorder.ThreadsFor(hs), (uint)((2 * L.KeySize + hs) * 4),
                Arg.P(buf.Qkvu), Arg.I(row), Arg.I(hidden), Arg.I(hs), Arg.P(L.Theta), Arg.P(L.Decay), Arg.P(ws.States),
                Arg.I(ws.StateStride), Arg.I(L.StateOffset), Arg.P(buf.Attn), Arg.I(hidden));
            r.Add("srms_gate", (uint)r.Tokens, 1, 256, 0, Arg.P(buf.Attn), Arg.I(hidden), Arg.P(buf.Qkvu + (ulong)(3 * hidden) * 4), Arg.I(row),
                Arg.F(_eps), Arg.P(buf.Attn), Arg.I(hidden), Arg.I(hidden));
            r.Linear(L.Out, buf.Attn, hidden, buf.X, d, accumulate: true);

            // 3. x += l3(act(l1 x) ⊙ l2 x), over SRMSNorm(x).
            r.RmsNorm(buf.X, d, 0, _eps, buf.Xn, d, d);
            r.Linear(L.L1, buf.Xn, d, buf.Glu, 2 * g);
            r.Linear(L.L2, buf.Xn, d, buf.Glu + (ulong)g * 4, 2 * g);
            r.Gated(Map(_c.GluActivation), buf.Glu, 2 * g, g, 0, buf.Gate, g, g);
            r.Linear(L.L3, buf.Gate, g, buf.X, d, accumulate: true);
        }

        // 4. logits = lm_head(SRMSNorm(x)).
        if (head)
        {
            r.RmsNorm(buf.X, d, 0, _eps, buf.Xn, d, d);
            r.Linear(_head, buf.Xn, d, ws.Outputs, OutputLength);
        }
        r.AdvancePosition();
    }

    private static CudaActivation Map(TransNormerActivation a) => a switch
    {
        TransNormerActivation.None => CudaActivation.None,
        TransNormerActivation.Silu => CudaActivation.Silu,
        TransNormerActivation.Relu => CudaActivation.Relu,
        TransNormerActivation.Gelu => CudaActivation.Gelu,
        TransNormerActivation.Elu => CudaActivation.Elu,
        TransNormerActivation.OnePlusElu => CudaActivation.OnePlusElu,
        _ => CudaActivation.Sigmoid,
    };
}
