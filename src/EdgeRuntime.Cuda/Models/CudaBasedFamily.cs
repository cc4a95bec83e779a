using System.Globalization;
using EdgeRuntime.Cuda.Runtime;
using EdgeRuntime.Models.Families.Based;
using EdgeRuntime.Models.Formats;
using EdgeRuntime.Models.Sessions;

namespace EdgeRuntime.Cuda.Models;

/// <summary>BASED on the GPU: the weights of <see cref="BasedModel"/> uploaded once and its decode step as kernels.</summary>
/// <remarks>
/// Arora et al. 2024, "Simple linear attention language models balance the recall-throughput tradeoff" (BASED).
/// Reference: HazyResearch/based@32c1bd4 based/models/gpt.py; tensor names, shapes and the state layout are those of
/// Families/Based (BasedModel, BasedLayer, BasedMlp, BasedNorm) and Mechanisms (ShortConv, BasedLinearAttention,
/// SlidingWindowAttention), so a state moves between CPU and GPU with one copy. Immutable after loading; shared by batches.
/// </remarks>
internal sealed class CudaBasedFamily : CudaFamily
{
    private readonly BasedConfig _c;
    private readonly DeviceMatrix _wte;            // (paddedVocab, d)
    private readonly DeviceMatrix? _wpe;           // (max_position_embeddings, d)
    private readonly Layer[] _layers;
    private readonly Norm _finalNorm;
    private readonly DeviceMatrix _head;           // (paddedVocab, d): lm_head or wte
    private readonly int _projWidth, _innerWidth;  // widest per-token projection / mixer output

    private const uint TaylorThreads = 256;   // groups of headSize threads split the D rows of S

    private sealed record Norm(ulong Weight, ulong Bias);

    private sealed record Layer(BasedMixerKind Kind, int StateOffset, Norm Norm1, Norm Norm2,
        DeviceMatrix[] Mixer, ulong ConvTaps, ulong ConvBias, int ConvInner, int ConvKernel,
        int Heads, int FeatureSize, int HeadSize, float Linear, float Square, float Cross, float Eps,
        int KvHeads, int Ring, int RotaryDim, double RotaryBase, bool Interleaved, float Scale,
        DeviceMatrix Fc1, DeviceMatrix Fc2);

    private sealed record Buffers(ulong Residual, ulong Normed, ulong Proj, ulong Inner);

    public CudaBasedFamily(CudaDevice device, WeightSource w, BasedConfig c, CudaWeightType weightType) : base(device, w, weightType)
    {
        _c = c;
        int d = c.HiddenSize, vocab = c.PaddedVocabSize;
        string hint = $"vocab_size {c.VocabSize} padded to {vocab}, n_embd {d} from config";
        _wte = Weights.Matrix(w.Matrix("transformer.embeddings.word_embeddings.weight", vocab, d, hint));
        if (c.PositionEmbeddingCount > 0)
            _wpe = Weights.Matrix(w.Matrix("transformer.embeddings.position_embeddings.weight", c.PositionEmbeddingCount, d,
                $"max_position_embeddings {c.PositionEmbeddingCount} from config"));
        else if (w.Contains("transformer.embeddings.position_embeddings.weight"))
            throw w.Error("tensor 'transformer.embeddings.position_embeddings.weight' is present but max_position_embeddings is 0");

        _layers = new Layer[c.LayerCount];
        int offset = StatePosition.Length;
        int proj = c.MlpGated ? 2 * c.MlpHiddenSize : c.MlpHiddenSize, inner = c.MlpHiddenSize;
        for (int i = 0; i < _layers.Length; i++)
        {
            var (layer, length, p, q) = LoadLayer(w, c, i, offset);
            _layers[i] = layer;
            offset += length;
            proj = Math.Max(proj, p);
            inner = Math.Max(inner, q);
        }
        StateLength = offset;
        _projWidth = proj;
        _innerWidth = inner;
        _finalNorm = LoadNorm(w, "transformer.ln_f");
        if (c.TieWordEmbeddings)
        {
            if (w.Contains("lm_head.weight")) throw w.Error("tensor 'lm_head.weight' is present but tie_word_embeddings is true");
            var bias = w.OptionalVector("lm_head.bias", vocab, c.LmHeadBias, "lm_head_bias from config");
            _head = bias.Length == 0 ? _wte : _wte with { Bias = Weights.Floats(bias) };
        }
        else
        {
            var bias = w.OptionalVector("lm_head.bias", vocab, c.LmHeadBias, "lm_head_bias from config");
            _head = Weights.Matrix(w.Matrix("lm_head.weight", vocab, d, hint + ", tie_word_embeddings false"), bias);
        }
        Info = new ModelInfo("based", w.Location,
        [
            new("hidden_size", d.ToString(CultureInfo.InvariantCulture)),
            new("layers", c.LayerCount.ToString(CultureInfo.InvariantCulture)),
            new("padded_vocab_size", vocab.ToString(CultureInfo.InvariantCulture)),
            new("device", device.Description),
        ], w.ParameterCount, w.WeightBytes, StateLength * 4L);
    }

    public override ModelInfo Info { get; }

    public override int StateLength { get; }

    public override int OutputLength => _c.PaddedVocabSize;

    public override int TokenLimit => _wte.Rows;

    public override int PositionLimit => _wpe?.Rows ?? 0;

    public override void InitState(Span<float> state)
    {
        state.Clear();
        StatePosition.Set(state, 0, 0);
    }

    public override object CreateBuffers(CudaWorkspace ws)
    {
        int b = ws.Size, d = _c.HiddenSize;
        return new Buffers(ws.Alloc((long)b * d), ws.Alloc((long)b * d), ws.Alloc((long)b * _projWidth), ws.Alloc((long)b * _innerWidth));
    }

    public override void Record(StepRecorder r, bool head)
    {
        var ws = r.Workspace;
        var buf = (Buffers)ws.FamilyBuffers!;
        int d = _c.HiddenSize, tokens = r.Tokens, pw = _projWidth, iw = _innerWidth;
        float eps = (float)_c.NormEpsilon;

        // 1. Embed: r = wte[token] (+ wpe[position]).
        r.Embed(_wte, 1f, _wpe, buf.Residual, d);
        foreach (var L in _layers)
        {
            // 2. Mixer: r += mixer(norm1(r)), the out projection accumulating into r.
            Normalize(r, L.Norm1, eps, buf.Residual, buf.Normed);
            switch (L.Kind)
            {
                case BasedMixerKind.Convolution:
                    r.Linear(L.Mixer[0], buf.Normed, d, buf.Proj, pw);
                    r.Add("short_conv_step", (uint)((L.ConvInner + 255) / 256), (uint)tokens, 256, 0,
                        Arg.P(buf.Proj), Arg.I(pw), Arg.P(L.ConvTaps), Arg.P(L.ConvBias), Arg.P(ws.States), Arg.I(ws.StateStride),
                        Arg.I(L.StateOffset), Arg.I(L.ConvInner), Arg.I(L.ConvKernel), Arg.P(buf.Inner), Arg.I(iw));
                    r.Linear(L.Mixer[1], buf.Inner, iw, buf.Residual, d, accumulate: true);
                    break;
                case BasedMixerKind.LinearAttention:
                {
                    int qw = L.Heads * L.FeatureSize, dx = 1 + L.FeatureSize + L.FeatureSize * (L.FeatureSize + 1) / 2;
                    r.Linear(L.Mixer[0], buf.Normed, d, buf.Proj, pw);
                    r.Linear(L.Mixer[1], buf.Normed, d, buf.Proj + (ulong)qw * 4, pw);
                    r.Linear(L.Mixer[2], buf.Normed, d, buf.Proj + (ulong)(2 * qw) * 4, pw);
                    r.Add("taylor_step", (uint)L.Heads, (uint)tokens, TaylorThreads, (uint)((2 * dx + 2 * L.FeatureSize + L.HeadSize + TaylorThreads) * 4),
                        Arg.P(buf.Proj), Arg.I(pw), Arg.I(0), Arg.I(qw), Arg.I(2 * qw), Arg.P(ws.States), Arg.I(ws.StateStride),
                        Arg.I(L.StateOffset), Arg.I(L.Heads), Arg.I(L.FeatureSize), Arg.I(L.HeadSize), Arg.F(L.Linear), Arg.F(L.Square),
                        Arg.F(L.Cross), Arg.F(L.Eps), Arg.P(buf.Inner), Arg.I(iw));
                    r.Linear(L.Mixer[3], buf.Inner, iw, buf.Residual, d, accumulate: true);
                    break;
                }
                default:
                    r.Linear(L.Mixer[0], buf.Normed, d, buf.Proj, pw);
                    r.Add("sliding_rotary_store", (uint)(L.Heads + L.KvHeads), (uint)tokens, StepRecorder.ThreadsFor(Math.Max(L.HeadSize, L.RotaryDim / 2)), 0,
                        Arg.P(buf.Proj), Arg.I(pw), Arg.I(L.Heads), Arg.I(L.KvHeads), Arg.I(L.HeadSize), Arg.I(L.RotaryDim), Arg.D(L.RotaryBase),
                        Arg.I(L.Interleaved ? 1 : 0), Arg.P(ws.States), Arg.I(ws.StateStride), Arg.I(L.StateOffset), Arg.I(L.Ring));
                    uint threads = StepRecorder.ThreadsFor(Math.Max(512, L.HeadSize));   // 16 warps score the window's positions
                    r.Add("sliding_attention", (uint)L.Heads, (uint)tokens, threads, (uint)((L.Ring + L.HeadSize + threads) * 4),
                        Arg.P(buf.Proj), Arg.I(pw), Arg.I(L.Heads), Arg.I(L.KvHeads), Arg.I(L.HeadSize), Arg.F(L.Scale),
                        Arg.P(ws.States), Arg.I(ws.StateStride), Arg.I(L.StateOffset), Arg.I(L.Ring), Arg.P(buf.Inner), Arg.I(iw));
                    r.Linear(L.Mixer[1], buf.Inner, iw, buf.Residual, d, accumulate: true);
                    break;
            }

            // 3. MLP: r += fc2(a ⊙ act(g)) (gated) or fc2(act(fc1 x)).
            Normalize(r, L.Norm2, eps, buf.Residual, buf.Normed);
            r.Linear(L.Fc1, buf.Normed, d, buf.Proj, pw);
            int hidden = L.Fc2.Cols;
            if (_c.MlpGated)
            {
                r.Gated(Activation(_c.Activation), buf.Proj, pw, 0, hidden, buf.Inner, iw, hidden);
                r.Linear(L.Fc2, buf.Inner, iw, buf.Residual, d, accumulate: true);
            }
            else
            {
                r.Activation(Activation(_c.Activation), buf.Proj, pw, hidden);
                r.Linear(L.Fc2, buf.Proj, pw, buf.Residual, d, accumulate: true);
            }
        }

        // 4. Final norm and head.
        if (head)
        {
            Normalize(r, _finalNorm, eps, buf.Residual, buf.Normed);
            r.Linear(_head, buf.Normed, d, ws.Outputs, OutputLength);
        }
        r.AdvancePosition();
    }

    private void Normalize(StepRecorder r, Norm norm, float eps, ulong x, ulong y)
    {
        int d = _c.HiddenSize;
        if (norm.Bias == 0) r.RmsNorm(x, d, norm.Weight, eps, y, d, d);
        else r.LayerNorm(x, d, norm.Weight, norm.Bias, eps, y, d, d);
    }

    private static CudaActivation Activation(string name) => name switch
    {
        "glu" => CudaActivation.Sigmoid,
        "swiglu" => CudaActivation.Silu,
        "geglu" or "gelu" => CudaActivation.Gelu,
        "relu" => CudaActivation.Relu,
        "sqrelu" => CudaActivation.SquaredRelu,
        _ => CudaActivation.GeluTanh,   // gelu_new, gelu_fast, gelu_approx, gelu_pytorch_tanh (BasedMlp)
    };

    private Norm LoadNorm(WeightSource w, string prefix)
    {
        string hint = $"n_embd {_c.HiddenSize}, rms_norm {(_c.RmsNorm ? "true" : "false")} from config";
        var weight = w.Vector($"{prefix}.weight", _c.HiddenSize, hint);
        var bias = w.OptionalVector($"{prefix}.bias", _c.HiddenSize, !_c.RmsNorm, hint + " (RMSNorm has no bias)");
        return new Norm(Weights.Floats(weight), bias.Length == 0 ? 0 : Weights.Floats(bias));
    }

    /// <summary>Loads block <paramref name="index"/> as BasedLayer.Load does; returns it, its state floats, and its widest
    /// projection and mixer-output rows per token.</summary>
    private (Layer Layer, int StateLength, int Proj, int Inner) LoadLayer(WeightSource w, BasedConfig c, int index, int stateOffset)
    {
        string prefix = $"transformer.layers.{index}", mixer = prefix + ".mixer";
        var spec = c.MixerFor(index);
        var kind = spec.Kind!.Value;
        int d = c.HiddenSize;
        DeviceMatrix[] m;
        ulong taps = 0, convBias = 0;
        int inner = 0, kernel = 0, heads = 0, f = 0, hd = 0, kvHeads = 0, ring = 0, rotary = 0, state, proj, outWidth;
        float linear = 0, square = 0, cross = 0, eps = 0, scale = 0;
        switch (kind)
        {
            case BasedMixerKind.Convolution:
            {
                inner = spec.ConvInnerSize(d);
                kernel = spec.KernelSize;
                string hint = $"n_embd {d}, expand_proj {spec.ExpandProjection}, kernel size {kernel} from config";
                var inProj = w.Matrix($"{mixer}.in_proj.weight", 2 * inner, d, hint);
                var inBias = w.OptionalVector($"{mixer}.in_proj.bias", 2 * inner, spec.UseBias, hint);
                var raw = w.Floats($"{mixer}.conv.conv.weight", [inner, 1, kernel], hint);
                var tapMajor = new float[kernel * inner];   // (kernel, inner), as ShortConv keeps it
                for (int ch = 0; ch < inner; ch++)
                    for (int j = 0; j < kernel; j++) tapMajor[j * inner + ch] = raw[ch * kernel + j];
                string convBiasName = $"{mixer}.conv.conv.bias";
                var cb = w.Contains(convBiasName) ? w.Vector(convBiasName, inner, hint) : [];
                var outProj = w.Matrix($"{mixer}.out_proj.weight", d, inner, hint);
                var outBias = w.OptionalVector($"{mixer}.out_proj.bias", d, spec.UseBias, hint);
                m = [Weights.Matrix(inProj, inBias), Weights.Matrix(outProj, outBias)];
                taps = Weights.Floats(tapMajor);
                convBias = cb.Length == 0 ? 0 : Weights.Floats(cb);
                state = (kernel - 1) * inner;
                proj = 2 * inner;
                outWidth = inner;
                break;
            }
            case BasedMixerKind.LinearAttention:
            {
                heads = spec.HeadCount;
                f = spec.FeatureDim;
                hd = spec.LinearHeadSize(d);
                string hint = $"n_embd {d}, num_heads {heads}, feature_dim {f}, head size {hd} from config";
                var q = w.Matrix($"{mixer}.proj_q.weight", heads * f, d, hint);
                var k = w.Matrix($"{mixer}.proj_k.weight", heads * f, d, hint);
                var v = w.Matrix($"{mixer}.proj_v.weight", heads * hd, d, hint);
                var o = w.Matrix($"{mixer}.out_proj.weight", d, heads * hd, hint);
                foreach (var name in (ReadOnlySpan<string>)["proj_q", "proj_k", "proj_v", "out_proj"])
                    if (w.Contains($"{mixer}.{name}.bias")) throw w.Error($"tensor '{mixer}.{name}.bias' is present but LinearAttention has no biases");
                m = [Weights.Matrix(q), Weights.Matrix(k), Weights.Matrix(v), Weights.Matrix(o)];
                double rd = Math.Sqrt(f);
                linear = (float)(1.0 / Math.Sqrt(rd));
                square = (float)(1.0 / (Math.Sqrt(2.0) * rd));
                cross = (float)(1.0 / rd);
                eps = (float)spec.EffectiveEpsilon;
                int dx = 1 + f + f * (f + 1) / 2;
                state = heads * (dx * hd + dx);
                proj = 2 * heads * f + heads * hd;
                outWidth = heads * hd;
                break;
            }
            default:
            {
                heads = c.HeadCount;
                kvHeads = c.KvHeadCount;
                hd = d / heads;
                ring = spec.WindowSize / 2 + 1;
                rotary = c.RotaryDim;
                scale = (float)c.SoftmaxScale(index);
                string hint = $"n_embd {d}, n_head {heads}, n_head_kv {kvHeads} from config";
                var qkv = w.Matrix($"{mixer}.Wqkv.weight", (heads + 2 * kvHeads) * hd, d, hint);
                var qkvBias = w.OptionalVector($"{mixer}.Wqkv.bias", (heads + 2 * kvHeads) * hd, c.QkvBias, hint);
                var o = w.Matrix($"{mixer}.out_proj.weight", d, heads * hd, hint);
                var oBias = w.OptionalVector($"{mixer}.out_proj.bias", d, c.OutBias, hint);
                m = [Weights.Matrix(qkv, qkvBias), Weights.Matrix(o, oBias)];
                state = 2 * ring * kvHeads * hd;
                proj = (heads + 2 * kvHeads) * hd;
                outWidth = heads * hd;
                break;
            }
        }
        var norm1 = LoadNorm(w, prefix + ".norm1");
        var norm2 = LoadNorm(w, prefix + ".norm2");
        int hidden = c.MlpHiddenSize, rows = c.MlpGated ? 2 * hidden : hidden;
        string mlpHint = $"n_embd {d}, n_inner {c.InnerSize?.ToString(CultureInfo.InvariantCulture) ?? "null"} -> hidden {hidden}, activation {c.Activation} from config";
        var fc1 = w.Matrix($"{prefix}.mlp.fc1.weight", rows, d, mlpHint);
        var b1 = w.OptionalVector($"{prefix}.mlp.fc1.bias", rows, c.MlpFc1Bias, mlpHint);
        var fc2 = w.Matrix($"{prefix}.mlp.fc2.weight", d, hidden, mlpHint);
        var b2 = w.OptionalVector($"{prefix}.mlp.fc2.bias", d, c.MlpFc2Bias, mlpHint);
        var layer = new Layer(kind, stateOffset, norm1, norm2, m, taps, convBias, inner, kernel, heads, f, hd, linear, square, cross, eps,
            kvHeads, ring, rotary, c.RotaryBase, c.RotaryInterleaved, scale, Weights.Matrix(fc1, b1), Weights.Matrix(fc2, b2));
        return (layer, state, proj, outWidth);
    }
}
