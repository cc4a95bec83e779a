using System.Text.Json;
using EdgeRuntime.Core.Memory;
using EdgeRuntime.Core.Tensors;

namespace EdgeRuntime.Models.Formats.Safetensors;

/// <summary>Weights of a Hugging Face checkpoint directory: every <c>*.safetensors</c> file in it (single file or shards).</summary>
/// <remarks>
/// F32 matrices are used in place from the memory map; F16 and BF16 matrices are widened to f32 once at load into native
/// buffers owned by this source. Not thread-safe while loading.
/// </remarks>
public sealed unsafe class SafetensorsWeightSource : WeightSource
{
    private readonly List<SafetensorsFile> _files = [];
    private readonly Dictionary<string, SafetensorsFile> _owner = new(StringComparer.Ordinal);
    private readonly List<NativeBuffer> _converted = [];

    /// <summary>Opens every safetensors file in <paramref name="directory"/>.</summary>
    /// <exception cref="ModelFormatException">No safetensors file, a malformed file, or a tensor defined twice.</exception>
    public SafetensorsWeightSource(string directory)
    {
        Location = Path.GetFullPath(directory);
        var paths = ModelFiles(Location);
        try
        {
            foreach (var p in paths)
            {
                var f = new SafetensorsFile(p);
                _files.Add(f);
                foreach (var name in f.Tensors.Keys)
                    if (!_owner.TryAdd(name, f)) throw f.Error($"tensor '{name}' is also defined in '{_owner[name].Path}'");
            }
        }
        catch
        {
            Dispose(true);
            throw;
        }
    }

    /// <summary>
    /// The weight files of a checkpoint directory: the shards named by <c>model.safetensors.index.json</c> if present, else
    /// <c>model*.safetensors</c>, else every <c>*.safetensors</c> (so a <c>golden.safetensors</c> beside the model is ignored).
    /// </summary>
    /// <exception cref="ModelFormatException">No weight file, or a malformed index.</exception>
    public static IReadOnlyList<string> ModelFiles(string directory)
    {
        string index = Path.Combine(directory, "model.safetensors.index.json");
        if (File.Exists(index))
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(index));
            if (!doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new ModelFormatException($"safetensors: '{index}' has no 'weight_map' object");
            return map.EnumerateObject().Select(p => p.Value.GetString() ?? "").Distinct().Order(StringComparer.Ordinal)
                .Select(f => Path.Combine(directory, Path.GetFileName(f))).ToArray();
        }
        var all = Directory.GetFiles(directory, "*.safetensors").Order(StringComparer.Ordinal).ToArray();
        var model = all.Where(p => Path.GetFileName(p).StartsWith("model", StringComparison.Ordinal)).ToArray();
        var chosen = model.Length > 0 ? model : all;
        if (chosen.Length == 0) throw new ModelFormatException($"safetensors: no *.safetensors file in '{directory}'");
        return chosen;
    }

    /// <inheritdoc />
    public override string Location { get; }

    /// <summary>All tensor names.</summary>
    public IEnumerable<string> Names => _owner.Keys;

    /// <inheritdoc />
    public override bool Contains(string name) => _owner.ContainsKey(name);

    /// <inheritdoc />
    public override long[]? ShapeOf(string name) => _owner.TryGetValue(name, out var f) ? f.Tensors[name].Shape : null;

    /// <inheritdoc />
    public override ModelFormatException Error(string what) =>
        new($"safetensors: {what} in '{(_files.Count == 1 ? _files[0].Path : Location)}'");

    /// <inheritdoc />
    protected override WeightMatrix CreateMatrix(string name, int rows, int cols)
    {
        var f = _owner[name];
        var t = f.Tensors[name];
        switch (t.DType)
        {
            case SafetensorsDType.F32:
                return new WeightMatrix(name, DType.F32, rows, cols, f.Address(t));
            case SafetensorsDType.F16:
            case SafetensorsDType.BF16:
                var buffer = new NativeBuffer((long)rows * cols);
                _converted.Add(buffer);
                Widen(f, t, new Span<float>(buffer.Pointer, checked(rows * cols)));
                return new WeightMatrix(name, DType.F32, rows, cols, buffer.Pointer);
            default:
                throw f.Error($"tensor '{name}' has dtype {t.DType}, expected F32, F16 or BF16");
        }
    }

    /// <inheritdoc />
    protected override void ReadF32(string name, Span<float> destination)
    {
        var f = _owner[name];
        Widen(f, f.Tensors[name], destination);
    }

    /// <inheritdoc />
    protected override long StoredBytes(string name) => _owner[name].Tensors[name].ByteLength;

    private static void Widen(SafetensorsFile f, SafetensorsTensor t, Span<float> destination)
    {
        var type = t.DType switch
        {
            SafetensorsDType.F32 => DType.F32,
            SafetensorsDType.F16 => DType.F16,
            SafetensorsDType.BF16 => DType.BF16,
            _ => throw f.Error($"tensor '{t.Name}' has dtype {t.DType}, expected F32, F16 or BF16"),
        };
        Core.Kernels.TypeConversion.ToF32(type, f.Address(t), destination);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        foreach (var b in _converted) b.Dispose();
        _converted.Clear();
        foreach (var f in _files) f.Dispose();
        _files.Clear();
    }
}
