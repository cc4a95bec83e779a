using System.Text.Json;
using EdgeRuntime.Models.Families.Aaren;
using EdgeRuntime.Models.Families.Based;
using EdgeRuntime.Models.Families.TransNormer;
using EdgeRuntime.Models.Formats;
using EdgeRuntime.Models.Formats.Gguf;
using EdgeRuntime.Models.Formats.Safetensors;
using EdgeRuntime.Models.Sessions;

namespace EdgeRuntime.Models;

/// <summary>Builds a family's model from its parsed config and weights: the CPU classes by default, another backend
/// (the CUDA one in EdgeRuntime.Cuda) through <see cref="ModelLoader.Load(string, ModelOptions?, IModelFactory)"/>.</summary>
/// <remarks>Each method takes ownership of <c>weights</c> (disposed with the model). Implementations are stateless or thread-safe.</remarks>
public interface IModelFactory
{
    /// <summary>A BASED language model.</summary>
    ILanguageModel LoadBased(WeightSource weights, BasedConfig config, ModelOptions options);

    /// <summary>A TransNormerLLM language model.</summary>
    ILanguageModel LoadTransNormer(WeightSource weights, TransNormerConfig config, ModelOptions options);

    /// <summary>An Aaren sequence model.</summary>
    ISequenceModel LoadAaren(WeightSource weights, AarenConfig config, ModelOptions options);
}

/// <summary>The CPU implementations: <see cref="BasedModel"/>, <see cref="TransNormerModel"/>, <see cref="AarenModel"/>.</summary>
/// <remarks>Stateless; safe from any thread.</remarks>
public sealed class CpuModelFactory : IModelFactory
{
    /// <summary>The one instance.</summary>
    public static CpuModelFactory Instance { get; } = new();

    /// <inheritdoc />
    public ILanguageModel LoadBased(WeightSource weights, BasedConfig config, ModelOptions options) => BasedModel.Load(weights, config, options);

    /// <inheritdoc />
    public ILanguageModel LoadTransNormer(WeightSource weights, TransNormerConfig config, ModelOptions options) => TransNormerModel.Load(weights, config, options);

    /// <inheritdoc />
    public ISequenceModel LoadAaren(WeightSource weights, AarenConfig config, ModelOptions options) => AarenModel.Load(weights, config, options);
}

/// <summary>Opens a model from a checkpoint directory (<c>config.json</c> + <c>*.safetensors</c>) or a GGUF file (by
/// extension <c>.gguf</c> or by its magic) and picks its family.</summary>
/// <remarks>Stateless; safe from any thread.</remarks>
public static class ModelLoader
{
    /// <summary>Loads the model at <paramref name="path"/> on the CPU.</summary>
    /// <exception cref="ModelLoadException">Malformed or inconsistent files; the message names the file and the problem.</exception>
    /// <exception cref="FileNotFoundException">Nothing at <paramref name="path"/>.</exception>
    public static IModel Load(string path, ModelOptions? options = null) => Load(path, options, CpuModelFactory.Instance);

    /// <summary>Loads the model at <paramref name="path"/>, building it with <paramref name="factory"/> (a backend).</summary>
    /// <exception cref="ModelLoadException">Malformed or inconsistent files; the message names the file and the problem.</exception>
    /// <exception cref="FileNotFoundException">Nothing at <paramref name="path"/>.</exception>
    public static IModel Load(string path, ModelOptions? options, IModelFactory factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        options ??= new ModelOptions();
        if (Directory.Exists(path)) return LoadDirectory(path, options, factory);
        if (File.Exists(path))
        {
            if (Path.GetFileName(path) == "config.json") return LoadDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!, options, factory);
            if (path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase) || GgufReader.HasMagic(path)) return LoadGguf(path, options, factory);
            throw new ModelFormatException($"model: '{Path.GetFullPath(path)}' is neither a checkpoint directory nor a .gguf file; expected a directory with config.json and *.safetensors, or a .gguf file");
        }
        throw new FileNotFoundException($"model: nothing at '{Path.GetFullPath(path)}'", path);
    }

    /// <summary>The family a <c>config.json</c> describes: "based", "transnormer" or "aaren".</summary>
    /// <exception cref="ModelConfigException">Not JSON, or not one of the three families.</exception>
    public static string DetectFamily(string json, string configPath)
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
            if (root.ValueKind != JsonValueKind.Object) throw new ModelConfigException($"config: '{configPath}' is not a JSON object");
            string? modelType = root.TryGetProperty("model_type", out var mt) && mt.ValueKind == JsonValueKind.String ? mt.GetString() : null;
            string? target = root.TryGetProperty("_target_", out var tg) && tg.ValueKind == JsonValueKind.String ? tg.GetString() : null;
            if (modelType == "transnormer") return "transnormer";
            if (modelType == "aaren") return "aaren";
            if ((target?.StartsWith("based.", StringComparison.Ordinal) ?? false) || root.TryGetProperty("alt_mixer", out _) || root.TryGetProperty("mixer", out _))
                return "based";
            throw new ModelConfigException(
                $"config: 'model_type' in '{configPath}' is '{modelType ?? "(missing)"}', expected 'transnormer', 'aaren', or a BASED GPT2MixerConfig");
        }
    }

    private static IModel LoadDirectory(string directory, ModelOptions options, IModelFactory factory)
    {
        string configPath = Path.Combine(Path.GetFullPath(directory), "config.json");
        if (!File.Exists(configPath)) throw new ModelConfigException($"config: no config.json in '{Path.GetFullPath(directory)}'");
        string json = File.ReadAllText(configPath);
        string family = DetectFamily(json, configPath);
        // Parse the config before mapping weights so config errors come first.
        switch (family)
        {
            case "based":
                {
                    var config = BasedConfig.FromJson(json, configPath);
                    return WithWeights(directory, w => factory.LoadBased(w, config, options));
                }
            case "transnormer":
                {
                    var config = TransNormerConfig.FromJson(json, configPath);
                    return WithWeights(directory, w => factory.LoadTransNormer(w, config, options));
                }
            default:
                {
                    var config = AarenConfig.FromJson(json, configPath);
                    return WithWeights(directory, w => factory.LoadAaren(w, config, options));
                }
        }
    }

    /// <summary>A GGUF file: <c>general.architecture</c> picks the family, whose own <c>FromJson</c> parses the config
    /// rebuilt from the <c>{architecture}.*</c> keys (<see cref="GgufConfig"/>); weights come from the same mapping.</summary>
    private static IModel LoadGguf(string path, ModelOptions options, IModelFactory factory)
    {
        var weights = new GgufWeightSource(path);
        try
        {
            string family = weights.File.Metadata.GetString("general.architecture");
            string json = GgufConfig.ToJson(weights.File.Metadata, family);
            string configPath = $"{weights.Location} (metadata {family}.*)";
            return family switch
            {
                "based" => factory.LoadBased(weights, BasedConfig.FromJson(json, configPath), options),
                "transnormer" => factory.LoadTransNormer(weights, TransNormerConfig.FromJson(json, configPath), options),
                "aaren" => factory.LoadAaren(weights, AarenConfig.FromJson(json, configPath), options),
                _ => throw new ModelConfigException($"gguf: 'general.architecture' is '{family}', expected 'based', 'transnormer' or 'aaren' in '{weights.Location}'"),
            };
        }
        catch
        {
            weights.Dispose();
            throw;
        }
    }

    private static IModel WithWeights(string directory, Func<WeightSource, IModel> load)
    {
        var weights = new SafetensorsWeightSource(directory);
        try
        {
            return load(weights);
        }
        catch
        {
            weights.Dispose();
            throw;
        }
    }
}
