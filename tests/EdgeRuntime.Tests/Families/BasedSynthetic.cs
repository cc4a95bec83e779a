using System.Text.Json.Nodes;
using EdgeRuntime.Models.Formats.Safetensors;

namespace EdgeRuntime.Tests.Families;

/// <summary>A small BASED configuration for tests, written as a real checkpoint (config.json + model.safetensors) with random weights.</summary>
internal sealed record BasedSpec
{
    public int Vocab { get; init; } = 37;
    public int PadMultiple { get; init; } = 8;
    public int D { get; init; } = 24;
    public int Heads { get; init; } = 3;
    public int? KvHeads { get; init; }
    public int Layers { get; init; } = 4;
    public int[] Alt { get; init; } = [1];
    public int[] Alt2 { get; init; } = [2];
    public bool Rms { get; init; } = true;
    public string Activation { get; init; } = "swiglu";
    public int? Inner { get; init; }
    public bool Tied { get; init; } = true;
    public int MaxPositions { get; init; }
    public double RotaryFraction { get; init; } = 1.0;
    public bool Interleaved { get; init; }
    public bool ScaleInverse { get; init; }
    public bool MlpBias { get; init; }
    public bool QkvBias { get; init; }
    public bool OutBias { get; init; }
    public int Expand { get; init; } = 2;
    public int Kernel { get; init; } = 3;
    public bool ConvBias { get; init; } = true;
    public bool ConvTapBias { get; init; }
    public int LinHeads { get; init; } = 2;
    public int Feature { get; init; } = 4;
    public int? LinHeadDim { get; init; }
    public int Window { get; init; } = 8;
    public double Sigma { get; init; } = 0.1;
    public int Seed { get; init; } = 42;

    public int Padded => (Vocab + PadMultiple - 1) / PadMultiple * PadMultiple;
    public int Hd => D / Heads;
    public int Kv => KvHeads ?? Heads;
    public int RotaryDim => (int)(RotaryFraction * Hd);
    public bool Gated => Activation is "glu" or "swiglu" or "geglu";
    public int MlpHidden => Gated ? ((Inner ?? (int)(8.0 * D / 3)) + 255) / 256 * 256 : Inner ?? 4 * D;
    public int ConvInner => Expand * D / 2;
    public int LinHd => LinHeadDim ?? D / LinHeads;

    /// <summary>0 conv, 1 linear attention, 2 sliding window (create_mixer_cls order: alt_mixer_2 first).</summary>
    public int Kind(int layer) => Array.IndexOf(Alt2, layer) >= 0 ? 2 : Array.IndexOf(Alt, layer) >= 0 ? 1 : 0;

    public string ConfigJson()
    {
        var o = new JsonObject
        {
            ["_target_"] = "based.models.gpt.GPT2MixerConfig",
            ["model_type"] = "gpt2",
            ["vocab_size"] = Vocab,
            ["pad_vocab_size_multiple"] = PadMultiple,
            ["n_embd"] = D,
            ["n_head"] = Heads,
            ["n_layer"] = Layers,
            ["n_inner"] = Inner,
            ["n_positions"] = 2048,
            ["max_position_embeddings"] = MaxPositions,
            ["layer_norm_epsilon"] = 1e-5,
            ["rms_norm"] = Rms,
            ["activation_function"] = Activation,
            ["rotary_emb_fraction"] = RotaryFraction,
            ["rotary_emb_base"] = 10000.0,
            ["rotary_emb_interleaved"] = Interleaved,
            ["scale_attn_weights"] = true,
            ["scale_attn_by_inverse_layer_idx"] = ScaleInverse,
            ["mlp_fc1_bias"] = MlpBias,
            ["mlp_fc2_bias"] = MlpBias,
            ["qkv_proj_bias"] = QkvBias,
            ["out_proj_bias"] = OutBias,
            ["tie_word_embeddings"] = Tied,
            ["n_head_kv"] = KvHeads,
            ["alt_mixer_layers"] = new JsonArray(Alt.Select(i => (JsonNode)i).ToArray()),
            ["alt_mixer_2_layers"] = new JsonArray(Alt2.Select(i => (JsonNode)i).ToArray()),
            ["mixer"] = new JsonObject
            {
                ["_target_"] = "based.models.mixers.convolution.BaseConv",
                ["l_max"] = 2048,
                ["use_bias"] = ConvBias,
                ["expand_proj"] = Expand,
                ["kernel_sizes"] = new JsonArray(Kernel),
            },
            ["alt_mixer"] = new JsonObject
            {
                ["_target_"] = "based.models.mixers.linear_attention.LinearAttention",
                ["feature_map"] = new JsonObject { ["_target_"] = "based.models.mixers.linear_attention.TaylorExp", ["input_dim"] = Feature },
                ["feature_dim"] = Feature,
                ["num_heads"] = LinHeads,
                ["head_dim"] = LinHeadDim,
                ["parallel_implementation"] = "quadratic",
            },
            ["alt_mixer_2"] = new JsonObject
            {
                ["_target_"] = "based.models.mixers.slide_attention.SlidingAttention",
                ["window_size"] = Window,
                ["num_heads"] = 99,  // ignored: SlidingAttention takes n_head
                ["causal"] = true,
            },
        };
        return o.ToJsonString();
    }

    /// <summary>Random weights named and shaped as a BASED checkpoint stores them.</summary>
    public Dictionary<string, (float[] Data, long[] Shape)> Weights()
    {
        var rng = new Random(Seed);
        var w = new Dictionary<string, (float[], long[])>(StringComparer.Ordinal);
        void Add(string name, double sigma, double mean, params long[] shape)
        {
            var data = new float[shape.Aggregate(1L, (a, b) => a * b)];
            for (int i = 0; i < data.Length; i++) data[i] = (float)(mean + sigma * Gaussian(rng));
            w[name] = (data, shape);
        }
        Add("transformer.embeddings.word_embeddings.weight", 0.5, 0, Padded, D);
        if (MaxPositions > 0) Add("transformer.embeddings.position_embeddings.weight", 0.2, 0, MaxPositions, D);
        for (int l = 0; l < Layers; l++)
        {
            string p = $"transformer.layers.{l}";
            foreach (var n in new[] { "norm1", "norm2" })
            {
                Add($"{p}.{n}.weight", 0.1, 1.0, D);
                if (!Rms) Add($"{p}.{n}.bias", 0.05, 0, D);
            }
            int fc1Rows = Gated ? 2 * MlpHidden : MlpHidden;
            Add($"{p}.mlp.fc1.weight", Sigma, 0, fc1Rows, D);
            if (MlpBias) Add($"{p}.mlp.fc1.bias", 0.05, 0, fc1Rows);
            Add($"{p}.mlp.fc2.weight", Sigma, 0, D, MlpHidden);
            if (MlpBias) Add($"{p}.mlp.fc2.bias", 0.05, 0, D);
            string m = p + ".mixer";
            switch (Kind(l))
            {
                case 0:
                    Add($"{m}.in_proj.weight", Sigma * 2, 0, 2 * ConvInner, D);
                    if (ConvBias) Add($"{m}.in_proj.bias", 0.05, 0, 2 * ConvInner);
                    Add($"{m}.conv.conv.weight", 0.3, 0, ConvInner, 1, Kernel);
                    if (ConvTapBias) Add($"{m}.conv.conv.bias", 0.05, 0, ConvInner);
                    Add($"{m}.out_proj.weight", Sigma, 0, D, ConvInner);
                    if (ConvBias) Add($"{m}.out_proj.bias", 0.05, 0, D);
                    break;
                case 1:
                    Add($"{m}.proj_q.weight", Sigma * 4, 0, LinHeads * Feature, D);
                    Add($"{m}.proj_k.weight", Sigma * 4, 0, LinHeads * Feature, D);
                    Add($"{m}.proj_v.weight", Sigma * 2, 0, LinHeads * LinHd, D);
                    Add($"{m}.out_proj.weight", Sigma, 0, D, LinHeads * LinHd);
                    break;
                default:
                    int rows = (Heads + 2 * Kv) * Hd;
                    Add($"{m}.Wqkv.weight", Sigma * 3, 0, rows, D);
                    if (QkvBias) Add($"{m}.Wqkv.bias", 0.05, 0, rows);
                    Add($"{m}.out_proj.weight", Sigma, 0, D, D);
                    if (OutBias) Add($"{m}.out_proj.bias", 0.05, 0, D);
                    break;
            }
        }
        Add("transformer.ln_f.weight", 0.1, 1.0, D);
        if (!Rms) Add("transformer.ln_f.bias", 0.05, 0, D);
        if (!Tied) Add("lm_head.weight", 0.3, 0, Padded, D);
        return w;
    }

    /// <summary>Writes config.json and model.safetensors into a fresh temp directory.</summary>
    public string WriteCheckpoint(Dictionary<string, (float[] Data, long[] Shape)> weights)
    {
        string dir = Path.Combine(Path.GetTempPath(), "based-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), ConfigJson());
        var writer = new SafetensorsWriter();
        foreach (var (name, (data, shape)) in weights) writer.Add(name, data, shape);
        writer.Save(Path.Combine(dir, "model.safetensors"));
        return dir;
    }

    private static double Gaussian(Random rng) =>
        Math.Sqrt(-2.0 * Math.Log(1.0 - rng.NextDouble())) * Math.Cos(2.0 * Math.PI * rng.NextDouble());
}

/// <summary>
/// Independent naive reference of a whole BASED model in double precision, written from the reference Python
/// (HazyResearch/based gpt.py, block.py, mlp.py, convolution.py, linear_attention.py "quadratic" with the full
/// <c>1 + f + f²</c> TaylorExp features, slide_attention.py as a fully masked softmax over keys <c>i − w/2 .. i</c>).
/// </summary>
internal static class BasedNaiveReference
{
    public static double[] Logits(BasedSpec s, Dictionary<string, (float[] Data, long[] Shape)> w, int[] tokens)
    {
        int T = tokens.Length, d = s.D;
        double[] W(string name) => w[name].Data.Select(v => (double)v).ToArray();
        double[]? Opt(string name) => w.ContainsKey(name) ? W(name) : null;

        var x = new double[T * d];
        var wte = W("transformer.embeddings.word_embeddings.weight");
        var wpe = Opt("transformer.embeddings.position_embeddings.weight");
        for (int t = 0; t < T; t++)
            for (int c = 0; c < d; c++)
                x[t * d + c] = wte[tokens[t] * d + c] + (wpe is null ? 0 : wpe[t * d + c]);

        for (int l = 0; l < s.Layers; l++)
        {
            string p = $"transformer.layers.{l}";
            var h = Norm(s, x, T, W($"{p}.norm1.weight"), Opt($"{p}.norm1.bias"));
            var m = s.Kind(l) switch
            {
                0 => Conv(s, w, p + ".mixer", h, T),
                1 => Taylor(s, w, p + ".mixer", h, T),
                _ => Sliding(s, w, p + ".mixer", h, T, l),
            };
            for (int i = 0; i < x.Length; i++) x[i] += m[i];
            h = Norm(s, x, T, W($"{p}.norm2.weight"), Opt($"{p}.norm2.bias"));
            m = Mlp(s, w, p + ".mlp", h, T);
            for (int i = 0; i < x.Length; i++) x[i] += m[i];
        }
        var hf = Norm(s, x, T, W("transformer.ln_f.weight"), Opt("transformer.ln_f.bias"));
        string head = s.Tied ? "transformer.embeddings.word_embeddings.weight" : "lm_head.weight";
        return Linear(W(head), null, hf, T, s.Padded, d);
    }

    private static double[] Linear(double[] weight, double[]? bias, double[] x, int T, int rows, int cols)
    {
        var y = new double[T * rows];
        for (int t = 0; t < T; t++)
            for (int r = 0; r < rows; r++)
            {
                double sum = bias?[r] ?? 0;
                for (int c = 0; c < cols; c++) sum += weight[r * cols + c] * x[t * cols + c];
                y[t * rows + r] = sum;
            }
        return y;
    }

    private static double[] Lin(Dictionary<string, (float[] Data, long[] Shape)> w, string name, double[] x, int T)
    {
        var (data, shape) = w[name + ".weight"];
        double[]? b = w.TryGetValue(name + ".bias", out var bias) ? bias.Data.Select(v => (double)v).ToArray() : null;
        return Linear(data.Select(v => (double)v).ToArray(), b, x, T, (int)shape[0], (int)shape[1]);
    }

    private static double[] Norm(BasedSpec s, double[] x, int T, double[] weight, double[]? bias)
    {
        int d = s.D;
        var y = new double[x.Length];
        for (int t = 0; t < T; t++)
        {
            var row = x.AsSpan(t * d, d);
            if (s.Rms)
            {
                double ms = 0;
                foreach (double v in row) ms += v * v;
                double inv = 1 / Math.Sqrt(ms / d + 1e-5);
                for (int c = 0; c < d; c++) y[t * d + c] = row[c] * inv * weight[c];
            }
            else
            {
                double mean = 0, var = 0;
                foreach (double v in row) mean += v;
                mean /= d;
                foreach (double v in row) var += (v - mean) * (v - mean);
                double inv = 1 / Math.Sqrt(var / d + 1e-5);
                for (int c = 0; c < d; c++) y[t * d + c] = (row[c] - mean) * inv * weight[c] + bias![c];
            }
        }
        return y;
    }

    private static double Silu(double v) => v / (1 + Math.Exp(-v));

    private static double Act(string name, double v) => name switch
    {
        "swiglu" => Silu(v),
        "glu" => 1 / (1 + Math.Exp(-v)),
        "geglu" or "gelu" => 0.5 * v * (1 + Erf(v / Math.Sqrt(2))),
        "relu" => Math.Max(v, 0),
        "sqrelu" => Math.Max(v, 0) * Math.Max(v, 0),
        _ => 0.5 * v * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v))),
    };

    /// <summary>erf by its Maclaurin series (|x| &lt; 5; beyond, ±1 to 2e-12).</summary>
    private static double Erf(double x)
    {
        if (Math.Abs(x) >= 5) return Math.Sign(x);
        double sum = 0, term = x;  // term = (−1)^n x^(2n+1) / n!
        for (int n = 0; n < 200; n++)
        {
            sum += term / (2 * n + 1);
            term *= -x * x / (n + 1);
            if (Math.Abs(term) < 1e-18) break;
        }
        return 2 / Math.Sqrt(Math.PI) * sum;
    }

    private static double[] Mlp(BasedSpec s, Dictionary<string, (float[] Data, long[] Shape)> w, string p, double[] h, int T)
    {
        int hidden = s.MlpHidden;
        var y = Lin(w, p + ".fc1", h, T);
        var inner = new double[T * hidden];
        for (int t = 0; t < T; t++)
            for (int c = 0; c < hidden; c++)
                inner[t * hidden + c] = s.Gated
                    ? y[t * 2 * hidden + c] * Act(s.Activation, y[t * 2 * hidden + hidden + c])
                    : Act(s.Activation, y[t * hidden + c]);
        return Lin(w, p + ".fc2", inner, T);
    }

    private static double[] Conv(BasedSpec s, Dictionary<string, (float[] Data, long[] Shape)> w, string p, double[] h, int T)
    {
        int inner = s.ConvInner, k = s.Kernel;
        var u = Lin(w, p + ".in_proj", h, T);
        var taps = w[p + ".conv.conv.weight"].Data;
        float[]? tapBias = w.TryGetValue(p + ".conv.conv.bias", out var tb) ? tb.Data : null;
        var v = new double[T * inner];
        for (int t = 0; t < T; t++)
            for (int ch = 0; ch < inner; ch++)
            {
                double c = tapBias?[ch] ?? 0;
                for (int j = 0; j < k; j++)
                {
                    int src = t - (k - 1) + j;
                    if (src >= 0) c += taps[ch * k + j] * u[src * 2 * inner + ch];
                }
                v[t * inner + ch] = Silu(c) * u[t * 2 * inner + inner + ch];
            }
        return Lin(w, p + ".out_proj", v, T);
    }

    /// <summary>TaylorExp: φ(x) = [1, x/⁴√f, vec(x xᵀ)/(√2·√f)] (1 + f + f² features), A_ij = φ(q_i)·φ(k_j).</summary>
    private static double[] Phi(ReadOnlySpan<double> x)
    {
        int f = x.Length;
        double rd = Math.Sqrt(f), rrd = Math.Sqrt(rd);
        var phi = new double[1 + f + f * f];
        phi[0] = 1;
        for (int i = 0; i < f; i++) phi[1 + i] = x[i] / rrd;
        for (int i = 0; i < f; i++)
            for (int j = 0; j < f; j++) phi[1 + f + i * f + j] = x[i] * x[j] / Math.Sqrt(2) / rd;
        return phi;
    }

    private static double[] Taylor(BasedSpec s, Dictionary<string, (float[] Data, long[] Shape)> w, string p, double[] h, int T)
    {
        int H = s.LinHeads, f = s.Feature, hd = s.LinHd;
        var q = Lin(w, p + ".proj_q", h, T);
        var k = Lin(w, p + ".proj_k", h, T);
        var v = Lin(w, p + ".proj_v", h, T);
        var y = new double[T * H * hd];
        for (int head = 0; head < H; head++)
        {
            var phiK = new double[T][];
            for (int j = 0; j < T; j++) phiK[j] = Phi(k.AsSpan(j * H * f + head * f, f));
            for (int i = 0; i < T; i++)
            {
                var phiQ = Phi(q.AsSpan(i * H * f + head * f, f));
                double den = 0;
                var num = new double[hd];
                for (int j = 0; j <= i; j++)
                {
                    double a = 0;
                    for (int r = 0; r < phiQ.Length; r++) a += phiQ[r] * phiK[j][r];
                    den += a;
                    for (int c = 0; c < hd; c++) num[c] += a * v[j * H * hd + head * hd + c];
                }
                for (int c = 0; c < hd; c++) y[i * H * hd + head * hd + c] = num[c] / (den + 1e-12);
            }
        }
        return Lin(w, p + ".out_proj", y, T);
    }

    private static void Rotate(BasedSpec s, Span<double> head, int position)
    {
        int r = s.RotaryDim, half = r / 2;
        for (int i = 0; i < half; i++)
        {
            double theta = position * Math.Pow(10000.0, -2.0 * i / r);
            double cos = Math.Cos(theta), sin = Math.Sin(theta);
            int a = s.Interleaved ? 2 * i : i, b = s.Interleaved ? 2 * i + 1 : i + half;
            double x1 = head[a], x2 = head[b];
            head[a] = x1 * cos - x2 * sin;
            head[b] = x2 * cos + x1 * sin;
        }
    }

    private static double[] Sliding(BasedSpec s, Dictionary<string, (float[] Data, long[] Shape)> w, string p, double[] h, int T, int layer)
    {
        int H = s.Heads, kv = s.Kv, hd = s.Hd, width = (H + 2 * kv) * hd, back = s.Window / 2;
        double scale = Math.Pow(hd, -0.5) / (s.ScaleInverse ? layer + 1 : 1);
        var qkv = Lin(w, p + ".Wqkv", h, T);
        for (int t = 0; t < T; t++)
            for (int head = 0; head < H + kv; head++) Rotate(s, qkv.AsSpan(t * width + head * hd, hd), t);
        var ctx = new double[T * H * hd];
        for (int head = 0; head < H; head++)
        {
            int g = head / (H / kv);
            for (int i = 0; i < T; i++)
            {
                // Full masked softmax over all keys: allowed iff i − w/2 ≤ j ≤ i.
                var scores = new double[T];
                double max = double.NegativeInfinity;
                for (int j = 0; j < T; j++)
                {
                    if (j > i || j < i - back)
                    {
                        scores[j] = double.NegativeInfinity;
                        continue;
                    }
                    double dot = 0;
                    for (int c = 0; c < hd; c++) dot += qkv[i * width + head * hd + c] * qkv[j * width + H * hd + g * hd + c];
                    scores[j] = dot * scale;
                    max = Math.Max(max, scores[j]);
                }
                double sum = 0;
                for (int j = 0; j < T; j++) sum += scores[j] = Math.Exp(scores[j] - max);
                for (int j = 0; j < T; j++)
                    for (int c = 0; c < hd; c++)
                        ctx[i * H * hd + head * hd + c] += scores[j] / sum * qkv[j * width + (H + kv) * hd + g * hd + c];
            }
        }
        return Lin(w, p + ".out_proj", ctx, T);
    }
}
