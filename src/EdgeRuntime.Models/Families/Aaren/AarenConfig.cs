using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using EdgeRuntime.Models.Formats;

namespace EdgeRuntime.Models.Families.Aaren;

/// <summary>The <c>config.json</c> of an Aaren sequence model (this project's layout; see shared/golden/README.md).</summary>
/// <remarks>
/// Every key is required: no public Aaren checkpoint or reference config exists whose defaults we could copy, so a
/// missing key is an error rather than a guess. Read through the source-generated <see cref="AarenJsonContext"/>
/// (no reflection; NativeAOT-safe). Immutable; safe to share across threads.
/// </remarks>
public sealed record AarenConfig
{
    /// <summary>The value <c>model_type</c> must have.</summary>
    public const string ModelTypeName = "aaren";

    /// <summary>Always <c>"aaren"</c>.</summary>
    [JsonPropertyName("model_type")] public string ModelType { get; init; } = ModelTypeName;

    /// <summary>Floats per input step (<c>input_dim</c>).</summary>
    [JsonPropertyName("input_dim")] public int InputSize { get; init; }

    /// <summary>Residual width (<c>d_model</c>).</summary>
    [JsonPropertyName("d_model")] public int HiddenSize { get; init; }

    /// <summary>Number of Aaren blocks (<c>n_layer</c>).</summary>
    [JsonPropertyName("n_layer")] public int LayerCount { get; init; }

    /// <summary>Attention heads per block (<c>n_head</c>); heads are contiguous slices of <see cref="HiddenSize"/>.</summary>
    [JsonPropertyName("n_head")] public int HeadCount { get; init; }

    /// <summary>Width of the MLP's hidden layer (<c>mlp_hidden</c>).</summary>
    [JsonPropertyName("mlp_hidden")] public int MlpHiddenSize { get; init; }

    /// <summary>MLP activation: <c>"gelu"</c> (exact erf GELU, PyTorch's default), <c>"relu"</c> or <c>"silu"</c>.</summary>
    [JsonPropertyName("activation")] public string Activation { get; init; } = "gelu";

    /// <summary>LayerNorm epsilon (<c>layer_norm_epsilon</c>).</summary>
    [JsonPropertyName("layer_norm_epsilon")] public double LayerNormEpsilon { get; init; }

    /// <summary>Floats per output step (<c>output_dim</c>).</summary>
    [JsonPropertyName("output_dim")] public int OutputSize { get; init; }

    /// <summary><c>"forecast"</c> or <c>"classify"</c>; informational (the computation is the same, every step has an output).</summary>
    [JsonPropertyName("task")] public string Task { get; init; } = "forecast";

    /// <summary>Floats per head: <c>d_model / n_head</c>.</summary>
    [JsonIgnore] public int HeadSize => HeadCount > 0 ? HiddenSize / HeadCount : 0;

    /// <summary>Activations this runtime implements.</summary>
    public static IReadOnlyList<string> SupportedActivations { get; } = ["gelu", "relu", "silu"];

    /// <summary>Values <see cref="Task"/> may take.</summary>
    public static IReadOnlyList<string> SupportedTasks { get; } = ["forecast", "classify"];

    // Key, JSON kind expected, for the presence/type pass that runs before deserialisation.
    private static readonly (string Key, KeyKind Kind)[] s_keys =
    [
        ("model_type", KeyKind.String), ("input_dim", KeyKind.Integer), ("d_model", KeyKind.Integer),
        ("n_layer", KeyKind.Integer), ("n_head", KeyKind.Integer), ("mlp_hidden", KeyKind.Integer),
        ("activation", KeyKind.String), ("layer_norm_epsilon", KeyKind.Number), ("output_dim", KeyKind.Integer),
        ("task", KeyKind.String),
    ];

    private enum KeyKind { Integer, Number, String }

    /// <summary>Parses and validates config.json.</summary>
    /// <param name="json">The file's text.</param>
    /// <param name="configPath">The file's path, for messages.</param>
    /// <exception cref="ModelConfigException">Not JSON, a missing key, a wrong-typed key, or an invalid value;
    /// the message names <paramref name="configPath"/> and the key.</exception>
    public static AarenConfig FromJson(string json, string configPath)
    {
        ArgumentNullException.ThrowIfNull(json);
        CheckKeys(json, configPath);
        AarenConfig? config;
        try
        {
            config = JsonSerializer.Deserialize(json, AarenJsonContext.Default.AarenConfig);
        }
        catch (JsonException ex)
        {
            // CheckKeys has vetted every key we read, so this is unexpected; still report it as a config error.
            throw new ModelConfigException($"config: '{configPath}' could not be read at '{ex.Path}': {ex.Message}", ex);
        }
        if (config is null) throw new ModelConfigException($"config: '{configPath}' is null, expected a JSON object");
        config.Validate(configPath);
        return config;
    }

    /// <summary>Writes this config as <c>config.json</c> text (for converters and synthetic checkpoints).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, AarenJsonContext.Default.AarenConfig);

    /// <summary>Checks value ranges and consistency.</summary>
    /// <param name="configPath">Where the config came from, for messages.</param>
    /// <exception cref="ModelConfigException">An invalid value; the message names the key, the value and what was expected.</exception>
    public void Validate(string configPath)
    {
        if (ModelType != ModelTypeName) throw Invalid(configPath, "model_type", $"'{ModelType}'", $"'{ModelTypeName}'");
        Positive(configPath, "input_dim", InputSize);
        Positive(configPath, "d_model", HiddenSize);
        Positive(configPath, "n_layer", LayerCount);
        Positive(configPath, "n_head", HeadCount);
        Positive(configPath, "mlp_hidden", MlpHiddenSize);
        Positive(configPath, "output_dim", OutputSize);
        if (HiddenSize % HeadCount != 0)
            throw Invalid(configPath, "d_model", HiddenSize.ToString(CultureInfo.InvariantCulture),
                $"a multiple of n_head {HeadCount}");
        if (!SupportedActivations.Contains(Activation))
            throw Invalid(configPath, "activation", $"'{Activation}'", "one of 'gelu' (exact erf), 'relu', 'silu'");
        if (!SupportedTasks.Contains(Task))
            throw Invalid(configPath, "task", $"'{Task}'", "'forecast' or 'classify'");
        if (!(LayerNormEpsilon > 0) || double.IsInfinity(LayerNormEpsilon) || (float)LayerNormEpsilon == 0f)
            throw Invalid(configPath, "layer_norm_epsilon", LayerNormEpsilon.ToString("R", CultureInfo.InvariantCulture),
                "a positive number representable as float32");
    }

    // Presence and JSON type of every key, so "missing" and "wrong type" are separate, precise errors.
    private static void CheckKeys(string json, string configPath)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            throw new ModelConfigException($"config: '{configPath}' is not valid JSON ({ex.Message})", ex);
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new ModelConfigException($"config: '{configPath}' is a JSON {Describe(root)}, expected an object");
            foreach (var (key, kind) in s_keys)
            {
                if (!root.TryGetProperty(key, out var value))
                    throw new ModelConfigException($"config: required key '{key}' is missing in '{configPath}'; expected {Expected(kind)}");
                bool ok = kind switch
                {
                    KeyKind.Integer => value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out _),
                    KeyKind.Number => value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out _),
                    _ => value.ValueKind == JsonValueKind.String,
                };
                if (!ok)
                    throw new ModelConfigException(
                        $"config: key '{key}' in '{configPath}' has the wrong type: expected {Expected(kind)}, got {Describe(value)}");
            }
        }
    }

    private static string Expected(KeyKind kind) => kind switch
    {
        KeyKind.Integer => "a 32-bit integer",
        KeyKind.Number => "a number",
        _ => "a string",
    };

    private static string Describe(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Number => $"number {e.GetRawText()}",
        JsonValueKind.String => $"string {e.GetRawText()}",
        JsonValueKind.True or JsonValueKind.False => $"boolean {e.GetRawText()}",
        JsonValueKind.Null => "null",
        JsonValueKind.Array => "array",
        JsonValueKind.Object => "object",
        _ => e.ValueKind.ToString(),
    };

    private static void Positive(string configPath, string key, int value)
    {
        if (value <= 0) throw Invalid(configPath, key, value.ToString(CultureInfo.InvariantCulture), "> 0");
    }

    private static ModelConfigException Invalid(string configPath, string key, string got, string expected) =>
        new($"config: key '{key}' in '{configPath}': expected {expected}, got {got}");
}

/// <summary>Source-generated JSON metadata for <see cref="AarenConfig"/> (NativeAOT: no reflection).</summary>
/// <remarks>Immutable; safe from any thread.</remarks>
[JsonSourceGenerationOptions(WriteIndented = true, NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(AarenConfig))]
internal sealed partial class AarenJsonContext : JsonSerializerContext;
