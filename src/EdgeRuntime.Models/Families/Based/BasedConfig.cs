using System.Text.Json;
using System.Text.Json.Serialization;
using EdgeRuntime.Models.Formats;

namespace EdgeRuntime.Models.Families.Based;

/// <summary>The sequence mixers a BASED layer can hold (a closed set).</summary>
/// <remarks>A value type; safe from any thread.</remarks>
public enum BasedMixerKind
{
    /// <summary><c>based.models.mixers.convolution.BaseConv</c>: gated short convolution.</summary>
    Convolution,

    /// <summary><c>based.models.mixers.linear_attention.LinearAttention</c> with the TaylorExp feature map.</summary>
    LinearAttention,

    /// <summary><c>based.models.mixers.slide_attention.SlidingAttention</c>: softmax attention over a sliding window.</summary>
    SlidingAttention,
}

/// <summary>A BASED checkpoint's <c>config.json</c>: a Hugging Face <c>GPT2Config</c> extended with mixer specs (<c>GPT2MixerConfig</c>).</summary>
/// <remarks>
/// Read through the source-generated <see cref="BasedJsonContext"/> (no reflection). Optional keys default exactly as the
/// reference Python defaults them: <c>getattr(config, key, default)</c> in
/// HazyResearch/based@32c1bd4 based/models/gpt.py and the <c>GPT2Config</c> / <c>PretrainedConfig</c> constructors;
/// the four sizes <c>vocab_size</c>, <c>n_embd</c>, <c>n_head</c>, <c>n_layer</c> are required (GPT2Config would
/// default them to GPT-2's, which never matches a BASED checkpoint). Properties have setters because the JSON source
/// generator resets absent <c>init</c>-only properties to <c>default</c>, losing the initialisers above; nothing mutates a
/// config after <see cref="FromJson"/>, so share it across threads freely but do not modify one a model was loaded with.
/// </remarks>
public sealed record BasedConfig
{
    /// <summary>Keys that must be present.</summary>
    private static readonly string[] s_requiredKeys = ["vocab_size", "n_embd", "n_head", "n_layer"];

    /// <summary>Real vocabulary size (ids that may be sampled).</summary>
    [JsonPropertyName("vocab_size")] public int VocabSize { get; set; }

    /// <summary>The embedding table and head are padded to a multiple of this (gpt.py: default 1).</summary>
    [JsonPropertyName("pad_vocab_size_multiple")] public int PadVocabSizeMultiple { get; set; } = 1;

    /// <summary>Model width <c>d</c>.</summary>
    [JsonPropertyName("n_embd")] public int HiddenSize { get; set; }

    /// <summary>Attention heads of the sliding-window mixer (SlidingAttention takes <c>n_head</c>, not its own <c>num_heads</c>).</summary>
    [JsonPropertyName("n_head")] public int HeadCount { get; set; }

    /// <summary>Number of blocks.</summary>
    [JsonPropertyName("n_layer")] public int LayerCount { get; set; }

    /// <summary>MLP hidden size (null: <c>int(8d/3)</c> for gated MLPs, <c>4d</c> otherwise).</summary>
    [JsonPropertyName("n_inner")] public int? InnerSize { get; set; }

    /// <summary>GPT2Config <c>n_positions</c> (default 1024); <c>max_position_embeddings</c> is its alias.</summary>
    [JsonPropertyName("n_positions")] public int? PositionCountKey { get; set; }

    /// <summary>Learned absolute position embeddings (0 = none); when absent, GPT2Config's alias gives <c>n_positions</c>.</summary>
    [JsonPropertyName("max_position_embeddings")] public int? MaxPositionEmbeddingsKey { get; set; }

    /// <summary>Norm epsilon (GPT2Config default 1e-5).</summary>
    [JsonPropertyName("layer_norm_epsilon")] public double NormEpsilon { get; set; } = 1e-5;

    /// <summary>RMSNorm (weight only) when true, LayerNorm (weight and bias) when false (gpt.py default false).</summary>
    [JsonPropertyName("rms_norm")] public bool RmsNorm { get; set; }

    /// <summary>MLP activation (GPT2Config default <c>gelu_new</c>).</summary>
    [JsonPropertyName("activation_function")] public string Activation { get; set; } = "gelu_new";

    /// <summary>GatedMlp variant (gpt.py default <c>base</c>; only <c>base</c> is supported).</summary>
    [JsonPropertyName("mlp_type")] public string MlpType { get; set; } = "base";

    /// <summary>Fraction of the sliding-attention head that rotary embedding rotates (default 0).</summary>
    [JsonPropertyName("rotary_emb_fraction")] public double RotaryFraction { get; set; }

    /// <summary>Rotary base θ (default 10000).</summary>
    [JsonPropertyName("rotary_emb_base")] public double RotaryBase { get; set; } = 10000.0;

    /// <summary>GPT-J style interleaved pairs when true, NeoX halves when false (default false).</summary>
    [JsonPropertyName("rotary_emb_interleaved")] public bool RotaryInterleaved { get; set; }

    /// <summary>xPos scale base (default null; xPos is not supported).</summary>
    [JsonPropertyName("rotary_emb_scale_base")] public double? RotaryScaleBase { get; set; }

    /// <summary>Softmax scale <c>head_dim^-0.5</c> when true, 1 when false (GPT2Config default true).</summary>
    [JsonPropertyName("scale_attn_weights")] public bool ScaleAttentionWeights { get; set; } = true;

    /// <summary>Divide the softmax scale by <c>layer_idx + 1</c> (default false).</summary>
    [JsonPropertyName("scale_attn_by_inverse_layer_idx")] public bool ScaleAttentionByInverseLayer { get; set; }

    /// <summary>Head size used for the softmax scale and rotary dim (gpt.py <c>getattr(config, "head_dim", d / n_head)</c>).</summary>
    [JsonPropertyName("head_dim")] public int? ScaleHeadSizeKey { get; set; }

    /// <summary>Bias on <c>mlp.fc1</c> (default true).</summary>
    [JsonPropertyName("mlp_fc1_bias")] public bool MlpFc1Bias { get; set; } = true;

    /// <summary>Bias on <c>mlp.fc2</c> (default true).</summary>
    [JsonPropertyName("mlp_fc2_bias")] public bool MlpFc2Bias { get; set; } = true;

    /// <summary>Bias on the sliding attention's <c>Wqkv</c> (default true).</summary>
    [JsonPropertyName("qkv_proj_bias")] public bool QkvBias { get; set; } = true;

    /// <summary>Bias on the sliding attention's <c>out_proj</c> (default true).</summary>
    [JsonPropertyName("out_proj_bias")] public bool OutBias { get; set; } = true;

    /// <summary>The head reuses the word embeddings (PretrainedConfig default true).</summary>
    [JsonPropertyName("tie_word_embeddings")] public bool TieWordEmbeddings { get; set; } = true;

    /// <summary>Bias on <c>lm_head</c> (default false).</summary>
    [JsonPropertyName("lm_head_bias")] public bool LmHeadBias { get; set; }

    /// <summary>Key/value heads of the sliding attention (null = <see cref="HeadCount"/>; fewer = GQA).</summary>
    [JsonPropertyName("n_head_kv")] public int? KvHeadCountKey { get; set; }

    /// <summary>Layers that use <see cref="AltMixer"/>.</summary>
    [JsonPropertyName("alt_mixer_layers")] public int[]? AltMixerLayers { get; set; }

    /// <summary>Layers that use <see cref="AltMixer2"/> (checked first).</summary>
    [JsonPropertyName("alt_mixer_2_layers")] public int[]? AltMixer2Layers { get; set; }

    /// <summary>Default mixer (null would mean flash-attn MHA, which is not supported).</summary>
    [JsonPropertyName("mixer")] public BasedMixerConfig? Mixer { get; set; }

    /// <summary>Mixer of <see cref="AltMixerLayers"/>.</summary>
    [JsonPropertyName("alt_mixer")] public BasedMixerConfig? AltMixer { get; set; }

    /// <summary>Mixer of <see cref="AltMixer2Layers"/>.</summary>
    [JsonPropertyName("alt_mixer_2")] public BasedMixerConfig? AltMixer2 { get; set; }

    /// <summary>Prenorm blocks (default true; post-norm is not supported).</summary>
    [JsonPropertyName("prenorm")] public bool Prenorm { get; set; } = true;

    /// <summary>GPT-J parallel blocks (default false; not supported).</summary>
    [JsonPropertyName("parallel_block")] public bool ParallelBlock { get; set; }

    /// <summary>OPT-style projected embeddings (default null; not supported).</summary>
    [JsonPropertyName("word_embed_proj_dim")] public int? WordEmbedProjectionKey { get; set; }

    /// <summary>Rows of the embedding table and the head: <c>ceil(vocab_size / multiple) · multiple</c>.</summary>
    [JsonIgnore] public int PaddedVocabSize => (VocabSize + PadVocabSizeMultiple - 1) / PadVocabSizeMultiple * PadVocabSizeMultiple;

    /// <summary>Rows of the learned position table (0 = none).</summary>
    [JsonIgnore] public int PositionEmbeddingCount => MaxPositionEmbeddingsKey ?? PositionCountKey ?? 1024;

    /// <summary>Sliding-attention heads of keys and values.</summary>
    [JsonIgnore] public int KvHeadCount => KvHeadCountKey ?? HeadCount;

    /// <summary>Sliding-attention head size <c>d / n_head</c>.</summary>
    [JsonIgnore] public int AttentionHeadSize => HiddenSize / HeadCount;

    /// <summary>Rotated dims of each sliding-attention head: <c>int(rotary_emb_fraction · head_dim)</c>.</summary>
    [JsonIgnore] public int RotaryDim => (int)(RotaryFraction * (ScaleHeadSizeKey ?? AttentionHeadSize));

    /// <summary>Whether the MLP is flash-attn's GatedMlp (<c>glu</c>, <c>swiglu</c>, <c>geglu</c>).</summary>
    [JsonIgnore] public bool MlpGated => Activation is "glu" or "swiglu" or "geglu";

    /// <summary>MLP hidden size: GatedMlp rounds <c>n_inner ?? int(8d/3)</c> up to a multiple of 256; Mlp uses <c>n_inner ?? 4d</c>.</summary>
    [JsonIgnore]
    public int MlpHiddenSize => MlpGated
        ? ((InnerSize ?? (int)(8.0 * HiddenSize / 3.0)) + 255) / 256 * 256
        : InnerSize ?? 4 * HiddenSize;

    /// <summary>Softmax scale of layer <paramref name="layer"/>'s sliding attention (gpt.py <c>sliding_window_additions</c>).</summary>
    public double SoftmaxScale(int layer)
    {
        double scale = ScaleAttentionWeights ? Math.Pow(ScaleHeadSizeKey ?? AttentionHeadSize, -0.5) : 1.0;
        return ScaleAttentionByInverseLayer ? scale / (layer + 1) : scale;
    }

    /// <summary>The mixer spec of layer <paramref name="layer"/>, chosen as gpt.py <c>create_mixer_cls</c> does.</summary>
    /// <exception cref="ModelConfigException">The layer would fall back to flash-attn MHA, which BASED checkpoints never use.</exception>
    public BasedMixerConfig MixerFor(int layer) => MixerFor(layer, "config.json").Spec;

    /// <summary>create_mixer_cls: <c>alt_mixer_2</c> if the layer is listed there, else <c>alt_mixer</c>, else <c>mixer</c>.</summary>
    private (BasedMixerConfig Spec, string Tag) MixerFor(int layer, string configPath)
    {
        (BasedMixerConfig? spec, string tag) =
            AltMixer2Layers is not null && Array.IndexOf(AltMixer2Layers, layer) >= 0 ? (AltMixer2, "alt_mixer_2")
            : AltMixerLayers is not null && Array.IndexOf(AltMixerLayers, layer) >= 0 ? (AltMixer, "alt_mixer")
            : (Mixer, "mixer");
        return (spec ?? throw new ModelConfigException(
            $"config: key '{tag}' in '{configPath}' (layer {layer}): expected a mixer object, got null or missing; " +
            "the reference would build flash-attn MHA there, which this runtime does not support"), tag);
    }

    /// <summary>Parses and validates <c>config.json</c>.</summary>
    /// <param name="json">The file's text.</param>
    /// <param name="configPath">The file's path, for messages.</param>
    /// <exception cref="ModelConfigException">Not JSON, a required key missing, a key of the wrong type, or an unsupported or inconsistent value.</exception>
    public static BasedConfig FromJson(string json, string configPath)
    {
        // Missing keys first (a separate error from wrong types), through a DOM pass.
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new ModelConfigException($"config: '{configPath}' is not a JSON object");
            foreach (string key in s_requiredKeys)
                if (!doc.RootElement.TryGetProperty(key, out _))
                    throw new ModelConfigException($"config: required key '{key}' is missing in '{configPath}'");
        }
        catch (JsonException ex)
        {
            throw new ModelConfigException($"config: '{configPath}' is not valid JSON ({ex.Message})", ex);
        }

        BasedConfig? config;
        try
        {
            config = JsonSerializer.Deserialize(json, BasedJsonContext.Default.BasedConfig);
        }
        catch (JsonException ex)
        {
            string key = ex.Path is { Length: > 2 } p && p.StartsWith("$.", StringComparison.Ordinal) ? p[2..] : ex.Path ?? "?";
            throw new ModelConfigException($"config: key '{key}' in '{configPath}' has the wrong type or value; {ex.Message}", ex);
        }
        if (config is null) throw new ModelConfigException($"config: '{configPath}' is null");
        config.Validate(configPath);
        return config;
    }

    private void Validate(string path)
    {
        Positive("vocab_size", VocabSize, path);
        Positive("pad_vocab_size_multiple", PadVocabSizeMultiple, path);
        Positive("n_embd", HiddenSize, path);
        Positive("n_head", HeadCount, path);
        Positive("n_layer", LayerCount, path);
        if (InnerSize is <= 0) throw Bad("n_inner", $"{InnerSize}", "a positive integer or null", path);
        if (PositionEmbeddingCount < 0) throw Bad("max_position_embeddings", $"{PositionEmbeddingCount}", ">= 0", path);
        if (!(NormEpsilon >= 0)) throw Bad("layer_norm_epsilon", $"{NormEpsilon}", ">= 0", path);
        if (!Prenorm) throw Bad("prenorm", "false", "true (post-norm blocks are not supported)", path);
        if (ParallelBlock) throw Bad("parallel_block", "true", "false (parallel blocks are not supported)", path);
        if (WordEmbedProjectionKey is not null) throw Bad("word_embed_proj_dim", $"{WordEmbedProjectionKey}", "null (projected embeddings are not supported)", path);
        if (MlpType != "base") throw Bad("mlp_type", $"'{MlpType}'", "'base'", path);
        if (Activation is not ("glu" or "swiglu" or "geglu" or "gelu" or "gelu_new" or "gelu_fast" or "gelu_approx" or "gelu_pytorch_tanh" or "relu" or "sqrelu"))
            throw Bad("activation_function", $"'{Activation}'", "one of glu, swiglu, geglu, gelu, gelu_new, gelu_fast, gelu_approx, gelu_pytorch_tanh, relu, sqrelu", path);

        bool anySliding = false;
        for (int layer = 0; layer < LayerCount; layer++)
        {
            var (spec, tag) = MixerFor(layer, path);
            spec.Validate(tag, HiddenSize, path);
            anySliding |= spec.Kind == BasedMixerKind.SlidingAttention;
        }
        if (anySliding)
        {
            if (HiddenSize % HeadCount != 0) throw Bad("n_head", $"{HeadCount}", $"a divisor of n_embd {HiddenSize} (SlidingAttention)", path);
            if (KvHeadCount <= 0 || HeadCount % KvHeadCount != 0) throw Bad("n_head_kv", $"{KvHeadCount}", $"a positive divisor of n_head {HeadCount}", path);
            if (ScaleHeadSizeKey is <= 0) throw Bad("head_dim", $"{ScaleHeadSizeKey}", "a positive integer or null", path);
            int rotary = RotaryDim;
            if (!(RotaryFraction >= 0) || rotary > AttentionHeadSize || rotary % 2 != 0)
                throw Bad("rotary_emb_fraction", $"{RotaryFraction}", $"a fraction giving an even rotary dim <= head size {AttentionHeadSize} (got {rotary})", path);
            if (rotary > 0 && RotaryScaleBase is not null) throw Bad("rotary_emb_scale_base", $"{RotaryScaleBase}", "null (xPos is not supported)", path);
            if (rotary > 0 && !(RotaryBase > 0)) throw Bad("rotary_emb_base", $"{RotaryBase}", "> 0", path);
        }
    }

    private static void Positive(string key, int value, string path)
    {
        if (value <= 0) throw Bad(key, $"{value}", "a positive integer", path);
    }

    internal static ModelConfigException Bad(string key, string got, string expected, string path) =>
        new($"config: key '{key}' in '{path}': expected {expected}, got {got}");
}

/// <summary>One mixer spec of a <see cref="BasedConfig"/> (<c>mixer</c>, <c>alt_mixer</c>, <c>alt_mixer_2</c>): a Hydra <c>_target_</c> plus its kwargs.</summary>
/// <remarks>
/// Defaults are the constructor defaults of the targeted class (HazyResearch/based@32c1bd4 based/models/mixers/
/// convolution.py <c>BaseConv</c>, linear_attention.py <c>LinearAttention</c>, slide_attention.py <c>SlidingAttention</c>).
/// Keys the target does not use are ignored, as its <c>**kwargs</c> does. Not mutated after parsing; safe to share across threads.
/// </remarks>
public sealed record BasedMixerConfig
{
    /// <summary>Hydra target, e.g. <c>based.models.mixers.convolution.BaseConv</c>.</summary>
    [JsonPropertyName("_target_")] public string? Target { get; set; }

    /// <summary>BaseConv: bias on <c>in_proj</c> and <c>out_proj</c> (default true).</summary>
    [JsonPropertyName("use_bias")] public bool UseBias { get; set; } = true;

    /// <summary>BaseConv: <c>in_proj</c> has <c>expand_proj·d</c> outputs, split in two halves (default 2).</summary>
    [JsonPropertyName("expand_proj")] public int ExpandProjection { get; set; } = 2;

    /// <summary>BaseConv: convolution taps (default 3).</summary>
    [JsonPropertyName("kernel_size")] public int? KernelSizeKey { get; set; }

    /// <summary>BaseConv: the training configs' spelling, a number or a one-element list (used when <c>kernel_size</c> is absent).</summary>
    [JsonPropertyName("kernel_sizes")] public JsonElement? KernelSizesKey { get; set; }

    /// <summary>LinearAttention: query/key feature size per head (default 16).</summary>
    [JsonPropertyName("feature_dim")] public int FeatureDim { get; set; } = 16;

    /// <summary>LinearAttention: heads (default 16). SlidingAttention ignores it and uses <c>n_head</c>.</summary>
    [JsonPropertyName("num_heads")] public int HeadCount { get; set; } = 16;

    /// <summary>LinearAttention: value head size (null = <c>d / num_heads</c>).</summary>
    [JsonPropertyName("head_dim")] public int? HeadSizeKey { get; set; }

    /// <summary>LinearAttention: the feature map (TaylorExp); required, as the reference has no usable default.</summary>
    [JsonPropertyName("feature_map")] public BasedFeatureMapConfig? FeatureMap { get; set; }

    /// <summary>LinearAttention: denominator epsilon (default 1e-12; the fla implementations use 1e-6).</summary>
    [JsonPropertyName("eps")] public double Epsilon { get; set; } = 1e-12;

    /// <summary>LinearAttention: which parallel kernel trained it (default <c>quadratic</c>).</summary>
    [JsonPropertyName("parallel_implementation")] public string ParallelImplementation { get; set; } = "quadratic";

    /// <summary>SlidingAttention: window <c>w</c>; query t sees keys <c>t − w/2 .. t</c> (default 128).</summary>
    [JsonPropertyName("window_size")] public int? WindowSizeKey { get; set; } = 128;

    /// <summary>The mixer kind, from the last component of <see cref="Target"/>; null when unknown.</summary>
    [JsonIgnore]
    public BasedMixerKind? Kind => Target?[(Target.LastIndexOf('.') + 1)..] switch
    {
        "BaseConv" => BasedMixerKind.Convolution,
        "LinearAttention" => BasedMixerKind.LinearAttention,
        "SlidingAttention" => BasedMixerKind.SlidingAttention,
        _ => null,
    };

    /// <summary>BaseConv taps: <c>kernel_size</c>, else <c>kernel_sizes</c>, else 3.</summary>
    [JsonIgnore]
    public int KernelSize => KernelSizeKey ?? KernelSizesKey switch
    {
        { ValueKind: JsonValueKind.Number } e when e.TryGetInt32(out int k) => k,
        { ValueKind: JsonValueKind.Array } e when e.GetArrayLength() == 1 && e[0].TryGetInt32(out int k) => k,
        null => 3,
        _ => -1,
    };

    /// <summary>BaseConv inner width <c>expand_proj·d/2</c>.</summary>
    public int ConvInnerSize(int hiddenSize) => ExpandProjection * hiddenSize / 2;

    /// <summary>LinearAttention value head size.</summary>
    public int LinearHeadSize(int hiddenSize) => HeadSizeKey ?? hiddenSize / HeadCount;

    /// <summary>LinearAttention epsilon as used at inference: the fla kernels hard-code 1e-6, the others use <c>eps</c>.</summary>
    [JsonIgnore]
    public double EffectiveEpsilon => ParallelImplementation.StartsWith("fla", StringComparison.Ordinal) ? 1e-6 : Epsilon;

    /// <summary>SlidingAttention window.</summary>
    [JsonIgnore] public int WindowSize => WindowSizeKey ?? -1;

    internal void Validate(string tag, int hiddenSize, string path)
    {
        switch (Kind)
        {
            case BasedMixerKind.Convolution:
                if (ExpandProjection <= 0 || ExpandProjection * hiddenSize % 2 != 0)
                    throw BasedConfig.Bad($"{tag}.expand_proj", $"{ExpandProjection}", $"a positive integer with expand_proj·n_embd ({hiddenSize}) even", path);
                if (KernelSize <= 0)
                    throw BasedConfig.Bad(KernelSizeKey is null ? $"{tag}.kernel_sizes" : $"{tag}.kernel_size",
                        KernelSizeKey?.ToString() ?? KernelSizesKey?.GetRawText() ?? "?", "a positive integer (or a one-element list of one)", path);
                break;
            case BasedMixerKind.LinearAttention:
                if (HeadCount <= 0) throw BasedConfig.Bad($"{tag}.num_heads", $"{HeadCount}", "a positive integer", path);
                if (FeatureDim <= 0) throw BasedConfig.Bad($"{tag}.feature_dim", $"{FeatureDim}", "a positive integer", path);
                if (LinearHeadSize(hiddenSize) <= 0)
                    throw BasedConfig.Bad($"{tag}.head_dim", $"{LinearHeadSize(hiddenSize)}", $"a positive head size (n_embd {hiddenSize} / num_heads {HeadCount})", path);
                if (FeatureMap is null)
                    throw new ModelConfigException($"config: key '{tag}.feature_map' is missing in '{path}'; expected {{\"_target_\": \"...TaylorExp\", \"input_dim\": {FeatureDim}}}");
                string map = FeatureMap.Target ?? "(missing)";
                if (!map.EndsWith(".TaylorExp", StringComparison.Ordinal) && map != "TaylorExp")
                    throw BasedConfig.Bad($"{tag}.feature_map._target_", $"'{map}'", "'based.models.mixers.linear_attention.TaylorExp'", path);
                if (FeatureMap.InputDim != FeatureDim)
                    throw BasedConfig.Bad($"{tag}.feature_map.input_dim", $"{FeatureMap.InputDim}", $"feature_dim {FeatureDim}", path);
                if (ParallelImplementation is not ("quadratic" or "linear" or "fla_parallel" or "fla_chunk"))
                    throw BasedConfig.Bad($"{tag}.parallel_implementation", $"'{ParallelImplementation}'",
                        "quadratic, linear, fla_parallel or fla_chunk ('tk' adds an output norm this runtime does not implement)", path);
                if (!(Epsilon >= 0)) throw BasedConfig.Bad($"{tag}.eps", $"{Epsilon}", ">= 0", path);
                break;
            case BasedMixerKind.SlidingAttention:
                if (WindowSize < 0) throw BasedConfig.Bad($"{tag}.window_size", WindowSizeKey?.ToString() ?? "null", "a non-negative integer", path);
                break;
            default:
                throw BasedConfig.Bad($"{tag}._target_", $"'{Target ?? "(missing)"}'",
                    "based.models.mixers.convolution.BaseConv, based.models.mixers.linear_attention.LinearAttention or " +
                    "based.models.mixers.slide_attention.SlidingAttention (MHA and other mixers are not supported)", path);
        }
    }
}

/// <summary>The <c>feature_map</c> of a LinearAttention spec.</summary>
/// <remarks>Not mutated after parsing; safe to share across threads.</remarks>
public sealed record BasedFeatureMapConfig
{
    /// <summary>Hydra target, <c>based.models.mixers.linear_attention.TaylorExp</c>.</summary>
    [JsonPropertyName("_target_")] public string? Target { get; set; }

    /// <summary>Feature size the map's scales use (<c>√input_dim</c>); must equal <c>feature_dim</c>.</summary>
    [JsonPropertyName("input_dim")] public int InputDim { get; set; }
}

/// <summary>Source-generated (AOT-safe) JSON metadata for <see cref="BasedConfig"/>.</summary>
/// <remarks>Stateless metadata; safe from any thread.</remarks>
[JsonSourceGenerationOptions(ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true)]
[JsonSerializable(typeof(BasedConfig))]
internal sealed partial class BasedJsonContext : JsonSerializerContext;
