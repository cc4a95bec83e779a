namespace EdgeRuntime.Models.Synthesis;

/// <summary>The published model shapes <c>edgefw synth</c> knows: BASED 360M and 1B, TransNormerLLM 385M and 1B, and a
/// small Aaren sensor model. Every number cites where it comes from.</summary>
/// <remarks>
/// Weights: matrices N(0, 0.02²) (the families' <c>init_std</c> / GPT-2 <c>initializer_range</c>), norm weights 1, biases 0,
/// BaseConv taps N(0, 0.2²), so activations stay finite through every layer. Stateless; safe from any thread.
/// </remarks>
public static class SyntheticPresets
{
    private const double Std = 0.02;

    /// <summary>All presets, by name.</summary>
    public static IReadOnlyList<SyntheticPreset> All { get; } =
    [
        // HazyResearch/based@2f51aa5 train/configs/experiment/reference/based-360m.yaml: n_embd 1024, n_layer 27, n_head 16,
        // alt_mixer_layers (LinearAttention) [1, 6, 11, 16, 21], alt_mixer_2_layers (SlidingAttention) [2, 7, 12, 17, 22],
        // BaseConv expand_proj 4 kernel_sizes 3 use_bias, feature_dim 16, num_heads 16, parallel_implementation fla_parallel,
        // window_size 256, n_inner 2·n_embd, swiglu, rms_norm, no MLP/attention biases, rotary_emb_fraction 1,
        // max_position_embeddings 0, pad_vocab_size_multiple 8. vocab_size 50264: GPT-2's 50257 tokens padded to a
        // multiple of 8, as the hazyresearch/based-360m checkpoint stores it.
        Based("based-360m", hidden: 1024, layers: 27, linear: [1, 6, 11, 16, 21], sliding: [2, 7, 12, 17, 22], parallel: "fla_parallel",
            "HazyResearch/based@2f51aa5 train/configs/experiment/reference/based-360m.yaml; vocab 50264 as hazyresearch/based-360m"),
        // HazyResearch/based@25c722f train/configs/experiment/reference/based-1b.yaml: n_embd 1792, n_layer 36, n_head 16,
        // alt_mixer_layers [1, 6, 11, 16, 21, 27, 33], alt_mixer_2_layers [2, 7, 12, 17, 22, 28, 34], the rest as 360M
        // (no parallel_implementation key: LinearAttention's default "quadratic").
        Based("based-1b", hidden: 1792, layers: 36, linear: [1, 6, 11, 16, 21, 27, 33], sliding: [2, 7, 12, 17, 22, 28, 34], parallel: null,
            "HazyResearch/based@25c722f train/configs/experiment/reference/based-1b.yaml; vocab 50264 as hazyresearch/based-1b"),
        // OpenNLPLab/TransNormerLLM-385M: configuration_transnormer.py defaults are the 385M model (decoder_embed_dim 1024,
        // decoder_layers 24, decoder_attention_heads 8, hidden_dim 1024, glu_dim 2816, vocab_size 64000, bias false,
        // simplermsnorm); linear_use_lrpe_list [1, 0, ...], linear_act_fun swish, no_scale_embedding false as the published
        // config.json files of the series (TransNormerLLM-1B config.json; TransNormerLLM-385M_10B-Token config.json: 1024/24/8/2816).
        TransNormer("transnormer-385m", embed: 1024, layers: 24, heads: 8, glu: 2816,
            "huggingface.co/OpenNLPLab/TransNormerLLM-385M configuration_transnormer.py defaults; lrpe/act as the published config.json"),
        // huggingface.co/OpenNLPLab/TransNormerLLM-1B config.json: vocab_size 64000, decoder_embed_dim 2048, decoder_layers 16,
        // decoder_attention_heads 16, hidden_dim 2048, glu_dim 5632, linear_use_lrpe_list [1, 0 × 15], linear_act_fun swish,
        // norm_type simplermsnorm, bias false, no_scale_embedding false.
        TransNormer("transnormer-1b", embed: 2048, layers: 16, heads: 16, glu: 5632,
            "huggingface.co/OpenNLPLab/TransNormerLLM-1B config.json"),
        // No public Aaren checkpoint exists (shared/golden/README.md defines the layout). This project's sensor model: 16
        // sensor channels in, 16 forecast channels out, d_model 256, 4 layers, 8 heads of 32, MLP 1024 (4·d), exact GELU —
        // about 3.2M parameters, sized for a microcontroller-class edge device streaming one sample per step.
        Aaren("aaren-small", input: 16, hidden: 256, layers: 4, heads: 8, mlp: 1024, output: 16,
            "this project's sensor forecaster (no published Aaren checkpoint); layout of shared/golden/README.md"),
        // Self-test sizes (`edge-runtime selftest` builds these in a temporary directory): every mechanism of each family at
        // a few kilobytes — BASED with one layer of each mixer and a 16-token window, TransNormerLLM with LRPE in layer 0 of
        // two, Aaren with two layers. Not published models.
        Based("based-micro", hidden: 64, layers: 3, linear: [1], sliding: [2], parallel: null,
            "edge-runtime selftest: one conv, one Taylor linear-attention and one sliding-window layer", heads: 4, window: 16, vocab: 96),
        TransNormer("transnormer-micro", embed: 64, layers: 2, heads: 4, glu: 128,
            "edge-runtime selftest: two layers, LRPE in layer 0", vocab: 96),
        Aaren("aaren-micro", input: 4, hidden: 32, layers: 2, heads: 4, mlp: 64, output: 4,
            "edge-runtime selftest: two layers"),
    ];

    /// <summary>The preset called <paramref name="name"/>, or null.</summary>
    public static SyntheticPreset? Find(string name) => All.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>Names for help text.</summary>
    public static string Names => string.Join(", ", All.Select(p => p.Name));

    /// <summary>BASED vocabulary as stored (already a multiple of 8).</summary>
    public const int BasedVocab = 50264;

    private static SyntheticPreset Based(string name, int hidden, int layers, int[] linear, int[] sliding, string? parallel, string source,
        int heads = 16, int window = 256, int vocab = BasedVocab)
    {
        const int feature = 16, expand = 4, kernel = 3;
        int inner = (2 * hidden + 255) / 256 * 256;  // n_inner = 2·n_embd; GatedMlp rounds to a multiple of 256 (already one at published sizes)
        int convInner = expand * hidden / 2;
        string config(int n) => SyntheticCheckpoint.Json(w =>
        {
            w.WriteString("_target_", "based.models.gpt.GPT2MixerConfig");
            w.WriteString("model_type", "gpt2");
            w.WriteNumber("vocab_size", vocab);
            w.WriteNumber("pad_vocab_size_multiple", 8);
            w.WriteNumber("n_embd", hidden);
            w.WriteNumber("n_head", heads);
            w.WriteNumber("n_layer", n);
            w.WriteNumber("n_inner", inner);
            w.WriteNumber("n_positions", 2048);
            w.WriteNumber("max_position_embeddings", 0);
            w.WriteNumber("layer_norm_epsilon", 1e-5);
            w.WriteBoolean("rms_norm", true);
            w.WriteBoolean("residual_in_fp32", true);
            w.WriteString("activation_function", "swiglu");
            w.WriteNumber("rotary_emb_fraction", 1);
            w.WriteBoolean("mlp_fc1_bias", false);
            w.WriteBoolean("mlp_fc2_bias", false);
            w.WriteBoolean("qkv_proj_bias", false);
            w.WriteBoolean("out_proj_bias", false);
            w.WriteBoolean("scale_attn_by_inverse_layer_idx", false);
            w.WriteBoolean("tie_word_embeddings", true);
            w.WriteInts("alt_mixer_layers", linear.Where(l => l < n));
            w.WriteInts("alt_mixer_2_layers", sliding.Where(l => l < n));
            w.WriteStartObject("mixer");
            w.WriteString("_target_", "based.models.mixers.convolution.BaseConv");
            w.WriteNumber("l_max", 2048);
            w.WriteBoolean("use_bias", true);
            w.WriteNumber("expand_proj", expand);
            w.WriteNumber("kernel_sizes", kernel);
            w.WriteEndObject();
            w.WriteStartObject("alt_mixer");
            w.WriteString("_target_", "based.models.mixers.linear_attention.LinearAttention");
            w.WriteNumber("l_max", 2048);
            w.WriteStartObject("feature_map");
            w.WriteString("_target_", "based.models.mixers.linear_attention.TaylorExp");
            w.WriteNumber("input_dim", feature);
            w.WriteEndObject();
            w.WriteNumber("feature_dim", feature);
            w.WriteNumber("num_heads", heads);
            if (parallel is not null) w.WriteString("parallel_implementation", parallel);
            w.WriteEndObject();
            w.WriteStartObject("alt_mixer_2");
            w.WriteString("_target_", "based.models.mixers.slide_attention.SlidingAttention");
            w.WriteNumber("window_size", window);
            w.WriteNumber("num_heads", heads);
            w.WriteBoolean("causal", true);
            w.WriteEndObject();
        });
        IEnumerable<SyntheticTensor> tensors(int n)
        {
            yield return SyntheticTensor.Normal("transformer.embeddings.word_embeddings.weight", Std, vocab, hidden);
            for (int l = 0; l < n; l++)
            {
                string p = $"transformer.layers.{l}", m = p + ".mixer";
                if (Array.IndexOf(sliding, l) >= 0)
                {
                    yield return SyntheticTensor.Normal($"{m}.Wqkv.weight", Std, 3 * hidden, hidden);
                    yield return SyntheticTensor.Normal($"{m}.out_proj.weight", Std, hidden, hidden);
                }
                else if (Array.IndexOf(linear, l) >= 0)
                {
                    yield return SyntheticTensor.Normal($"{m}.proj_q.weight", Std, heads * feature, hidden);
                    yield return SyntheticTensor.Normal($"{m}.proj_k.weight", Std, heads * feature, hidden);
                    yield return SyntheticTensor.Normal($"{m}.proj_v.weight", Std, hidden, hidden);
                    yield return SyntheticTensor.Normal($"{m}.out_proj.weight", Std, hidden, hidden);
                }
                else
                {
                    yield return SyntheticTensor.Normal($"{m}.in_proj.weight", Std, 2 * convInner, hidden);
                    yield return SyntheticTensor.Constant($"{m}.in_proj.bias", 0, 2 * convInner);
                    yield return SyntheticTensor.Normal($"{m}.conv.conv.weight", 0.2, convInner, 1, kernel);
                    yield return SyntheticTensor.Normal($"{m}.out_proj.weight", Std, hidden, convInner);
                    yield return SyntheticTensor.Constant($"{m}.out_proj.bias", 0, hidden);
                }
                yield return SyntheticTensor.Normal($"{p}.mlp.fc1.weight", Std, 2 * inner, hidden);
                yield return SyntheticTensor.Normal($"{p}.mlp.fc2.weight", Std, hidden, inner);
                yield return SyntheticTensor.Constant($"{p}.norm1.weight", 1, hidden);
                yield return SyntheticTensor.Constant($"{p}.norm2.weight", 1, hidden);
            }
            yield return SyntheticTensor.Constant("transformer.ln_f.weight", 1, hidden);
        }
        return new SyntheticPreset(name, "based", layers,
            $"BASED d={hidden}, {layers} layers (conv / Taylor linear attention at [{string.Join(",", linear)}] / sliding window {window} at [{string.Join(",", sliding)}]), vocab {vocab}",
            source, config, tensors);
    }

    private static SyntheticPreset TransNormer(string name, int embed, int layers, int heads, int glu, string source, int vocab = 64000)
    {
        string config(int n) => SyntheticCheckpoint.Json(w =>
        {
            w.WriteStartArray("architectures");
            w.WriteStringValue("TransnormerForCausalLM");
            w.WriteEndArray();
            w.WriteString("model_type", "transnormer");
            w.WriteNumber("pad_token_id", 0);
            w.WriteNumber("bos_token_id", 1);
            w.WriteNumber("eos_token_id", 2);
            w.WriteNumber("vocab_size", vocab);
            w.WriteBoolean("use_cache", true);
            w.WriteNumber("init_std", Std);
            w.WriteNumber("decoder_embed_dim", embed);
            w.WriteNumber("decoder_layers", n);
            w.WriteNumber("decoder_attention_heads", heads);
            w.WriteBoolean("no_scale_embedding", false);
            w.WriteBoolean("add_bos_token", false);
            w.WriteString("norm_type", "simplermsnorm");
            w.WriteInts("linear_use_lrpe_list", Enumerable.Range(0, n).Select(l => l == 0 ? 1 : 0));
            w.WriteNumber("hidden_dim", embed);
            w.WriteString("linear_act_fun", "swish");
            w.WriteNumber("glu_dim", glu);
            w.WriteBoolean("bias", false);
        });
        IEnumerable<SyntheticTensor> tensors(int n)
        {
            yield return SyntheticTensor.Normal("model.embed_tokens.weight", Std, vocab, embed);
            for (int l = 0; l < n; l++)
            {
                string p = $"model.layers.{l}";
                yield return SyntheticTensor.Normal($"{p}.token_mixer.qkvu_proj.weight", Std, 4 * embed, embed);
                yield return SyntheticTensor.Normal($"{p}.token_mixer.out_proj.weight", Std, embed, embed);
                if (l == 0) yield return SyntheticTensor.Normal($"{p}.token_mixer.lrpe.theta", 1.0, heads, 1, embed / heads);
                yield return SyntheticTensor.Normal($"{p}.channel_mixer.l1.weight", Std, glu, embed);
                yield return SyntheticTensor.Normal($"{p}.channel_mixer.l2.weight", Std, glu, embed);
                yield return SyntheticTensor.Normal($"{p}.channel_mixer.l3.weight", Std, embed, glu);
            }
            // No lm_head.weight: tie_word_embeddings (PretrainedConfig default true) makes the head the embedding.
        }
        return new SyntheticPreset(name, "transnormer", layers,
            $"TransNormerLLM d={embed}, {layers} layers, {heads} heads, GLU {glu}, LRPE in layer 0, vocab {vocab}", source, config, tensors);
    }

    private static SyntheticPreset Aaren(string name, int input, int hidden, int layers, int heads, int mlp, int output, string source)
    {
        string config(int n) => SyntheticCheckpoint.Json(w =>
        {
            w.WriteString("model_type", "aaren");
            w.WriteNumber("input_dim", input);
            w.WriteNumber("d_model", hidden);
            w.WriteNumber("n_layer", n);
            w.WriteNumber("n_head", heads);
            w.WriteNumber("mlp_hidden", mlp);
            w.WriteString("activation", "gelu");
            w.WriteNumber("layer_norm_epsilon", 1e-5);
            w.WriteNumber("output_dim", output);
            w.WriteString("task", "forecast");
        });
        IEnumerable<SyntheticTensor> tensors(int n)
        {
            yield return SyntheticTensor.Normal("input_proj.weight", 0.2, hidden, input);
            yield return SyntheticTensor.Constant("input_proj.bias", 0, hidden);
            for (int l = 0; l < n; l++)
            {
                string p = $"layers.{l}";
                yield return SyntheticTensor.Constant($"{p}.norm1.weight", 1, hidden);
                yield return SyntheticTensor.Constant($"{p}.norm1.bias", 0, hidden);
                yield return SyntheticTensor.Normal($"{p}.attn.query", 0.2, heads, hidden / heads);
                foreach (string proj in (string[])["k_proj", "v_proj", "out_proj"])
                {
                    yield return SyntheticTensor.Normal($"{p}.attn.{proj}.weight", Std, hidden, hidden);
                    yield return SyntheticTensor.Constant($"{p}.attn.{proj}.bias", 0, hidden);
                }
                yield return SyntheticTensor.Constant($"{p}.norm2.weight", 1, hidden);
                yield return SyntheticTensor.Constant($"{p}.norm2.bias", 0, hidden);
                yield return SyntheticTensor.Normal($"{p}.mlp.fc1.weight", Std, mlp, hidden);
                yield return SyntheticTensor.Constant($"{p}.mlp.fc1.bias", 0, mlp);
                yield return SyntheticTensor.Normal($"{p}.mlp.fc2.weight", Std, hidden, mlp);
                yield return SyntheticTensor.Constant($"{p}.mlp.fc2.bias", 0, hidden);
            }
            yield return SyntheticTensor.Constant("final_norm.weight", 1, hidden);
            yield return SyntheticTensor.Constant("final_norm.bias", 0, hidden);
            yield return SyntheticTensor.Normal("head.weight", Std, output, hidden);
            yield return SyntheticTensor.Constant("head.bias", 0, output);
        }
        return new SyntheticPreset(name, "aaren", layers,
            $"Aaren sensor forecaster: {input} channels in, {output} out, d={hidden}, {layers} layers, {heads} heads, MLP {mlp}", source, config, tensors);
    }
}
