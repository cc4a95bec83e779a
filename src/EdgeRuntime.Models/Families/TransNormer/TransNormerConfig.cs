using System.Text.Json;
using System.Text.Json.Serialization;
using EdgeRuntime.Models.Formats;

namespace EdgeRuntime.Models.Families.TransNormer;

/// <summary>The <c>config.json</c> of a TransNormerLLM checkpoint (Hugging Face <c>TransnormerConfig</c>).</summary>
/// <remarks>
/// <para>Read through the source-generated <see cref="TransNormerJsonContext"/> (no reflection; NativeAOT-safe).
/// The six keys that fix tensor shapes are required here (the Python class defaults them to a 385M model's sizes,
/// which would only produce confusing shape errors); every other key defaults as <c>TransnormerConfig.__init__</c> /
/// <c>PretrainedConfig</c> default it, noted per property.</para>
/// <para>Immutable; safe to share across threads.</para>
/// </remarks>
public sealed record TransNormerConfig
{
    /// <summary>SimpleRMSNorm epsilon used when <c>norm_eps</c> is absent: the <c>1e-6</c> of <c>SimpleRMSNorm(dim, eps=1e-6)</c>
    /// (OpenNLPLab/lightning-attention@d15c385 lightning_attn/ops/torch/srmsnorm.py), confirmed against the golden.</summary>
    public const double DefaultNormEps = 1e-6;

    private static readonly string[] s_requiredKeys =
        ["vocab_size", "decoder_embed_dim", "decoder_layers", "decoder_attention_heads", "hidden_dim", "glu_dim"];

    /// <summary>Vocabulary size (rows of the embedding and of <c>lm_head</c>). Required.</summary>
    [JsonPropertyName("vocab_size"), JsonInclude] public int VocabSize { get; internal set; }

    /// <summary>Model width <c>d</c> (residual stream). Required.</summary>
    [JsonPropertyName("decoder_embed_dim"), JsonInclude] public int EmbedDim { get; internal set; }

    /// <summary>Number of decoder layers. Required.</summary>
    [JsonPropertyName("decoder_layers"), JsonInclude] public int LayerCount { get; internal set; }

    /// <summary>Attention heads per layer. Required.</summary>
    [JsonPropertyName("decoder_attention_heads"), JsonInclude] public int HeadCount { get; internal set; }

    /// <summary>Width of q, k, v, u (all heads together). Required.</summary>
    [JsonPropertyName("hidden_dim"), JsonInclude] public int HiddenDim { get; internal set; }

    /// <summary>Inner width of the GLU channel mixer. Required.</summary>
    [JsonPropertyName("glu_dim"), JsonInclude] public int GluDim { get; internal set; }

    /// <summary>Activation of q and k; reference default <c>"silu"</c>.</summary>
    [JsonPropertyName("linear_act_fun"), JsonInclude] public string LinearActFun { get; internal set; } = "silu";

    /// <summary>Activation of the GLU's <c>l1</c> branch. Absent (as in the golden's config) it is <c>"none"</c>: the
    /// paper's Simple GLU, <c>l3(l1(x) ⊙ l2(x))</c>. The golden's logits confirm this; a SiLU gate misses them by max|Δ|/max|golden| = 0.56.</summary>
    [JsonPropertyName("glu_act"), JsonInclude] public string GluAct { get; internal set; } = "none";

    /// <summary>Norm kind; reference default <c>"simplermsnorm"</c>, the only one this runtime implements.</summary>
    [JsonPropertyName("norm_type"), JsonInclude] public string NormType { get; internal set; } = "simplermsnorm";

    /// <summary>Whether every linear layer except <c>lm_head</c> has a bias; reference default false.</summary>
    [JsonPropertyName("bias"), JsonInclude] public bool Bias { get; internal set; }

    /// <summary>Per layer, 1 if the token mixer applies LRPE; reference default <c>[]</c>, read here as all 0
    /// (the reference would index past the end of an empty list).</summary>
    [JsonPropertyName("linear_use_lrpe_list"), JsonInclude] public IReadOnlyList<int> LrpeLayers { get; internal set; } = [];

    /// <summary>When false, embeddings are scaled by <c>sqrt(decoder_embed_dim)</c>; reference default false.</summary>
    [JsonPropertyName("no_scale_embedding"), JsonInclude] public bool NoScaleEmbedding { get; internal set; }

    /// <summary>Whether <c>lm_head</c> may fall back to the embedding when absent; <c>PretrainedConfig</c> default true.</summary>
    [JsonPropertyName("tie_word_embeddings"), JsonInclude] public bool TieWordEmbeddings { get; internal set; } = true;

    /// <summary>Padding token; reference default 0.</summary>
    [JsonPropertyName("pad_token_id"), JsonInclude] public int? PadTokenId { get; internal set; } = 0;

    /// <summary>Beginning-of-sequence token; reference default 1.</summary>
    [JsonPropertyName("bos_token_id"), JsonInclude] public int? BosTokenId { get; internal set; } = 1;

    /// <summary>End-of-sequence token; reference default 2.</summary>
    [JsonPropertyName("eos_token_id"), JsonInclude] public int? EosTokenId { get; internal set; } = 2;

    /// <summary>SimpleRMSNorm epsilon (this project's key; the reference hard-codes it): default <see cref="DefaultNormEps"/>.</summary>
    [JsonPropertyName("norm_eps"), JsonInclude] public double NormEps { get; internal set; } = DefaultNormEps;

    /// <summary>Width of one head, <c>hidden_dim / decoder_attention_heads</c>.</summary>
    [JsonIgnore] public int HeadSize => HiddenDim / HeadCount;

    /// <summary><see cref="LinearActFun"/> parsed.</summary>
    [JsonIgnore] public TransNormerActivation QkActivation => ParseActivation(LinearActFun) ?? TransNormerActivation.Silu;

    /// <summary><see cref="GluAct"/> parsed.</summary>
    [JsonIgnore] public TransNormerActivation GluActivation => ParseActivation(GluAct) ?? TransNormerActivation.None;

    /// <summary>Whether layer <paramref name="layer"/> applies LRPE.</summary>
    public bool UsesLrpe(int layer) => LrpeLayers.Count != 0 && LrpeLayers[layer] != 0;

    /// <summary>Parses and validates <c>config.json</c>.</summary>
    /// <param name="json">The file's text.</param>
    /// <param name="configPath">The file's path, for messages.</param>
    /// <exception cref="ModelConfigException">Not JSON, a required key missing, a key of the wrong type, or an unsupported or inconsistent value.</exception>
    public static TransNormerConfig FromJson(string json, string configPath)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException ex)
        {
            throw new ModelConfigException($"config: '{configPath}' is not valid JSON ({ex.Message})", ex);
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new ModelConfigException($"config: '{configPath}' is not a JSON object");
            foreach (string key in s_requiredKeys)
                if (!root.TryGetProperty(key, out _))
                    throw new ModelConfigException($"config: required key '{key}' is missing from '{configPath}'");
            TransNormerConfig? config;
            try
            {
                config = root.Deserialize(TransNormerJsonContext.Default.TransNormerConfig);
            }
            catch (JsonException ex)
            {
                string key = ex.Path is { Length: > 2 } p && p.StartsWith("$.", StringComparison.Ordinal) ? p[2..] : ex.Path ?? "?";
                int bracket = key.IndexOf('[', StringComparison.Ordinal);
                if (bracket > 0) key = key[..bracket];
                throw WrongType(configPath, key, root.TryGetProperty(key, out var value) ? value.GetRawText() : "?", ex);
            }
            if (config is null) throw new ModelConfigException($"config: '{configPath}' is not a JSON object");
            if (config.LinearActFun is null) throw WrongType(configPath, "linear_act_fun", "null");
            if (config.GluAct is null) throw WrongType(configPath, "glu_act", "null");
            if (config.NormType is null) throw WrongType(configPath, "norm_type", "null");
            if (config.LrpeLayers is null) throw WrongType(configPath, "linear_use_lrpe_list", "null");
            config.Validate(configPath);
            return config;
        }
    }

    private static ModelConfigException WrongType(string path, string key, string got, Exception? inner = null)
    {
        if (got.Length > 40) got = got[..40] + "...";
        return new ModelConfigException($"config: key '{key}' in '{path}' has the wrong type: expected {ExpectedType(key)}, got {got}", inner);
    }

    private static string ExpectedType(string key) => key switch
    {
        "linear_act_fun" or "glu_act" or "norm_type" => "a string",
        "bias" or "no_scale_embedding" or "tie_word_embeddings" => "true or false",
        "linear_use_lrpe_list" => "a list of integers 0 or 1",
        "norm_eps" => "a number",
        _ => "an integer",
    };

    private void Validate(string path)
    {
        Positive("vocab_size", VocabSize, path);
        Positive("decoder_embed_dim", EmbedDim, path);
        Positive("decoder_layers", LayerCount, path);
        Positive("decoder_attention_heads", HeadCount, path);
        Positive("hidden_dim", HiddenDim, path);
        Positive("glu_dim", GluDim, path);
        if (HiddenDim % HeadCount != 0)
            throw new ModelConfigException($"config: key 'hidden_dim' in '{path}': expected a multiple of decoder_attention_heads {HeadCount}, got {HiddenDim}");
        if (ParseActivation(LinearActFun) is null)
            throw new ModelConfigException($"config: key 'linear_act_fun' in '{path}': expected one of {SupportedActivations}, got '{LinearActFun}'");
        if (ParseActivation(GluAct) is null)
            throw new ModelConfigException($"config: key 'glu_act' in '{path}': expected one of {SupportedActivations}, got '{GluAct}'");
        if (NormType != "simplermsnorm")
            throw new ModelConfigException($"config: key 'norm_type' in '{path}': expected 'simplermsnorm', got '{NormType}'; this runtime does not implement 'layernorm' or 'rmsnorm' TransNormer checkpoints");
        if (LrpeLayers.Count != 0 && LrpeLayers.Count != LayerCount)
            throw new ModelConfigException($"config: key 'linear_use_lrpe_list' in '{path}': expected {LayerCount} entries (decoder_layers), got {LrpeLayers.Count}");
        for (int i = 0; i < LrpeLayers.Count; i++)
            if (LrpeLayers[i] is not (0 or 1))
                throw new ModelConfigException($"config: key 'linear_use_lrpe_list' in '{path}': expected 0 or 1 at index {i}, got {LrpeLayers[i]}");
        if (!(NormEps >= 0) || double.IsInfinity(NormEps))
            throw new ModelConfigException($"config: key 'norm_eps' in '{path}': expected a finite number >= 0, got {NormEps}");
    }

    private static void Positive(string key, int value, string path)
    {
        if (value <= 0) throw new ModelConfigException($"config: key '{key}' in '{path}': expected a positive integer, got {value}");
    }

    private const string SupportedActivations = "'none', 'silu', 'swish', 'relu', 'gelu', 'elu', '1+elu', 'sigmoid'";

    /// <summary>The activation a config string names, or null when this runtime does not know it (the reference
    /// silently falls back to the identity there; we refuse instead).</summary>
    public static TransNormerActivation? ParseActivation(string? name) => name switch
    {
        "none" or "identity" => TransNormerActivation.None,
        "silu" or "swish" => TransNormerActivation.Silu,
        "relu" => TransNormerActivation.Relu,
        "gelu" => TransNormerActivation.Gelu,
        "elu" => TransNormerActivation.Elu,
        "1+elu" or "elu+1" => TransNormerActivation.OnePlusElu,
        "sigmoid" => TransNormerActivation.Sigmoid,
        _ => null,
    };
}

/// <summary>Source-generated JSON metadata for <see cref="TransNormerConfig"/> (NativeAOT: no reflection).</summary>
/// <remarks>Stateless; safe from any thread.</remarks>
[JsonSourceGenerationOptions(ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true)]
[JsonSerializable(typeof(TransNormerConfig))]
internal sealed partial class TransNormerJsonContext : JsonSerializerContext;
