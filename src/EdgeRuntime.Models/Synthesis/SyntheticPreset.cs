namespace EdgeRuntime.Models.Synthesis;

/// <summary>The shapes of one published model: its <c>config.json</c> and the names and shapes of its tensors, for any layer
/// count up to the published one (<c>edgefw synth --layers</c> keeps the first N layers and their mixer pattern).</summary>
/// <remarks>Immutable; safe to share.</remarks>
public sealed class SyntheticPreset
{
    private readonly Func<int, string> _config;
    private readonly Func<int, IEnumerable<SyntheticTensor>> _tensors;

    internal SyntheticPreset(string name, string family, int layerCount, string description, string source,
        Func<int, string> config, Func<int, IEnumerable<SyntheticTensor>> tensors)
    {
        Name = name;
        Family = family;
        LayerCount = layerCount;
        Description = description;
        Source = source;
        _config = config;
        _tensors = tensors;
    }

    /// <summary>Preset name, e.g. <c>based-360m</c>.</summary>
    public string Name { get; }

    /// <summary>Model family the loader detects: <c>based</c>, <c>transnormer</c> or <c>aaren</c>.</summary>
    public string Family { get; }

    /// <summary>Layers of the published model.</summary>
    public int LayerCount { get; }

    /// <summary>One line about the shapes.</summary>
    public string Description { get; }

    /// <summary>Where the numbers come from.</summary>
    public string Source { get; }

    /// <summary>The checkpoint's <c>config.json</c> for <paramref name="layers"/> layers.</summary>
    public string ConfigJson(int layers) => _config(CheckLayers(layers));

    /// <summary>The checkpoint's tensors for <paramref name="layers"/> layers, in file order.</summary>
    public IEnumerable<SyntheticTensor> Tensors(int layers) => _tensors(CheckLayers(layers));

    /// <summary>Parameters of the checkpoint with <paramref name="layers"/> layers.</summary>
    public long ParameterCount(int layers) => Tensors(layers).Sum(t => t.ElementCount);

    private int CheckLayers(int layers)
    {
        if (layers < 1 || layers > LayerCount)
            throw new ArgumentOutOfRangeException(nameof(layers), layers, $"synth: --layers for '{Name}' must be 1..{LayerCount}");
        return layers;
    }
}
