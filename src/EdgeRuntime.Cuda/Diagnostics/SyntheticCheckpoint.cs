using System.Globalization;
using EdgeRuntime.Models.Formats.Safetensors;

namespace EdgeRuntime.Cuda.Diagnostics;

/// <summary>The sizes of a synthetic BASED checkpoint (the layer pattern of HazyResearch's based-360m: convolutions, with
/// Taylor linear attention at layers 1, 6, 11, … and sliding windows at 2, 7, 12, …).</summary>
/// <param name="Layers">Blocks.</param>
/// <param name="Hidden">n_embd.</param>
/// <param name="Heads">Heads of the linear attention and of the sliding window.</param>
/// <param name="Vocab">vocab_size (padded to a multiple of 8).</param>
/// <param name="Window">Sliding window size.</param>
/// <param name="FeatureDim">Taylor feature dim.</param>
public sealed record BasedShape(int Layers, int Hidden, int Heads, int Vocab, int Window, int FeatureDim)
{
    /// <summary>HazyResearch/based@32c1bd4 train/configs/experiment/reference/based-360m.yaml, with the GPT-NeoX vocabulary
    /// (50277, padded to 50280): d 1024, 27 layers, 16 heads, n_inner 2048, swiglu, conv expand 4 kernel 3, Taylor
    /// feature_dim 16, window 256.</summary>
    public static BasedShape Based360M { get; } = new(27, 1024, 16, 50277, 256, 16);

    /// <summary>The same pattern at toy size (tests).</summary>
    public static BasedShape Tiny { get; } = new(8, 64, 4, 300, 16, 8);

    /// <summary>alt_mixer_layers (Taylor linear attention).</summary>
    public IEnumerable<int> LinearLayers => Enumerable.Range(0, Layers).Where(i => i % 5 == 1 && i < 22);

    /// <summary>alt_mixer_2_layers (sliding window).</summary>
    public IEnumerable<int> SlidingLayers => Enumerable.Range(0, Layers).Where(i => i % 5 == 2 && i < 23);

    /// <summary>GatedMlp width: n_inner = 2·d rounded up to a multiple of 256.</summary>
    public int MlpHidden => (2 * Hidden + 255) / 256 * 256;
}

/// <summary>Writes random BASED checkpoints of a given shape in the published layout (config.json + model.safetensors),
/// for CPU-vs-GPU agreement and benchmarks at published sizes without downloading weights.</summary>
/// <remarks>Weights are uniform in ±1/√fan_in (norm weights 1), from a seeded xorshift generator, so a seed fixes the
/// file. Stateless; safe from any thread.</remarks>
public static class SyntheticCheckpoint
{
    /// <summary>Writes the checkpoint into <paramref name="directory"/> (created); returns the directory.</summary>
    public static string WriteBased(string directory, BasedShape shape, ulong seed = 42)
    {
        Directory.CreateDirectory(directory);
        int d = shape.Hidden, inner = 2 * d, hidden = shape.MlpHidden, f = shape.FeatureDim, hd = d / shape.Heads;
        int vocab = (shape.Vocab + 7) / 8 * 8;
        var linear = shape.LinearLayers.ToHashSet();
        var sliding = shape.SlidingLayers.ToHashSet();
        var rng = new XorShift(seed);
        var w = new SafetensorsWriter();
        w.Add("transformer.embeddings.word_embeddings.weight", rng.Uniform((long)vocab * d, 0.5f), vocab, d);
        for (int i = 0; i < shape.Layers; i++)
        {
            string p = $"transformer.layers.{i}";
            w.Add($"{p}.norm1.weight", Ones(d), d);
            w.Add($"{p}.norm2.weight", Ones(d), d);
            if (linear.Contains(i))
            {
                w.Add($"{p}.mixer.proj_q.weight", rng.Uniform((long)shape.Heads * f * d, Bound(d)), shape.Heads * f, d);
                w.Add($"{p}.mixer.proj_k.weight", rng.Uniform((long)shape.Heads * f * d, Bound(d)), shape.Heads * f, d);
                w.Add($"{p}.mixer.proj_v.weight", rng.Uniform((long)d * d, Bound(d)), d, d);
                w.Add($"{p}.mixer.out_proj.weight", rng.Uniform((long)d * d, Bound(d)), d, d);
            }
            else if (sliding.Contains(i))
            {
                w.Add($"{p}.mixer.Wqkv.weight", rng.Uniform(3L * d * d, Bound(d)), 3 * d, d);
                w.Add($"{p}.mixer.out_proj.weight", rng.Uniform((long)d * d, Bound(d)), d, d);
            }
            else
            {
                w.Add($"{p}.mixer.in_proj.weight", rng.Uniform(2L * inner * d, Bound(d)), 2 * inner, d);
                w.Add($"{p}.mixer.in_proj.bias", rng.Uniform(2 * inner, Bound(d)), 2 * inner);
                w.Add($"{p}.mixer.conv.conv.weight", rng.Uniform(inner * 3L, Bound(3)), inner, 1, 3);
                w.Add($"{p}.mixer.conv.conv.bias", rng.Uniform(inner, Bound(3)), inner);
                w.Add($"{p}.mixer.out_proj.weight", rng.Uniform((long)d * inner, Bound(inner)), d, inner);
                w.Add($"{p}.mixer.out_proj.bias", rng.Uniform(d, Bound(inner)), d);
            }
            w.Add($"{p}.mlp.fc1.weight", rng.Uniform(2L * hidden * d, Bound(d)), 2 * hidden, d);
            w.Add($"{p}.mlp.fc2.weight", rng.Uniform((long)d * hidden, Bound(hidden)), d, hidden);
        }
        w.Add("transformer.ln_f.weight", Ones(d), d);
        w.Metadata("format", "pt");
        w.Save(Path.Combine(directory, "model.safetensors"));
        File.WriteAllText(Path.Combine(directory, "config.json"), BasedConfigJson(shape));
        return directory;
    }

    /// <summary>The config.json of <paramref name="shape"/>.</summary>
    public static string BasedConfigJson(BasedShape shape)
    {
        var inv = CultureInfo.InvariantCulture;
        string List(IEnumerable<int> xs) => "[" + string.Join(", ", xs.Select(x => x.ToString(inv))) + "]";
        return $$"""
        {
          "_target_": "based.models.gpt.GPT2MixerConfig",
          "model_type": "gpt2",
          "vocab_size": {{shape.Vocab.ToString(inv)}},
          "pad_vocab_size_multiple": 8,
          "n_embd": {{shape.Hidden.ToString(inv)}},
          "n_head": {{shape.Heads.ToString(inv)}},
          "n_layer": {{shape.Layers.ToString(inv)}},
          "n_inner": {{(2 * shape.Hidden).ToString(inv)}},
          "n_positions": 2048,
          "max_position_embeddings": 0,
          "layer_norm_epsilon": 1e-05,
          "rms_norm": true,
          "activation_function": "swiglu",
          "rotary_emb_fraction": 1,
          "mlp_fc1_bias": false,
          "mlp_fc2_bias": false,
          "qkv_proj_bias": false,
          "out_proj_bias": false,
          "tie_word_embeddings": true,
          "alt_mixer_layers": {{List(shape.LinearLayers)}},
          "alt_mixer_2_layers": {{List(shape.SlidingLayers)}},
          "mixer": { "_target_": "based.models.mixers.convolution.BaseConv", "l_max": 2048, "use_bias": true, "expand_proj": 4, "kernel_sizes": 3 },
          "alt_mixer": { "_target_": "based.models.mixers.linear_attention.LinearAttention", "l_max": 2048,
            "feature_map": { "_target_": "based.models.mixers.linear_attention.TaylorExp", "input_dim": {{shape.FeatureDim.ToString(inv)}} },
            "feature_dim": {{shape.FeatureDim.ToString(inv)}}, "num_heads": {{shape.Heads.ToString(inv)}}, "parallel_implementation": "fla_parallel" },
          "alt_mixer_2": { "_target_": "based.models.mixers.slide_attention.SlidingAttention", "window_size": {{shape.Window.ToString(inv)}},
            "num_heads": {{shape.Heads.ToString(inv)}}, "causal": true }
        }
        """;
    }

    private static float Bound(int fanIn) => 1f / MathF.Sqrt(fanIn);

    private static float[] Ones(int n)
    {
        var a = new float[n];
        Array.Fill(a, 1f);
        return a;
    }

    /// <summary>xorshift64*: fast, seeded, identical on every machine.</summary>
    private sealed class XorShift(ulong seed)
    {
        private ulong _s = seed == 0 ? 0x9E3779B97F4A7C15UL : seed;

        public float[] Uniform(long count, float bound)
        {
            var a = new float[count];
            for (long i = 0; i < count; i++)
            {
                _s ^= _s >> 12;
                _s ^= _s << 25;
                _s ^= _s >> 27;
                ulong r = _s * 0x2545F4914F6CDD1DUL;
                a[i] = ((r >> 40) * (1f / (1 << 24)) * 2f - 1f) * bound;
            }
            return a;
        }
    }
}
