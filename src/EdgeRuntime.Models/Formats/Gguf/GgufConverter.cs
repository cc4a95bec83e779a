using System.Text.Json;
using EdgeRuntime.Core.Kernels;
using EdgeRuntime.Core.Quant;
using EdgeRuntime.Core.Tensors;
using EdgeRuntime.Models.Formats.Safetensors;

namespace EdgeRuntime.Models.Formats.Gguf;

/// <summary>What the converter will write for one tensor.</summary>
/// <param name="Name">Tensor name, unchanged from the checkpoint.</param>
/// <param name="Shape">PyTorch order (outermost first); the GGUF dims are the reverse.</param>
/// <param name="SourceType">Stored type in the checkpoint (<c>F32</c>, <c>BF16</c>...).</param>
/// <param name="Type">Type written.</param>
/// <param name="ByteLength">Bytes written (before alignment padding).</param>
/// <remarks>Immutable.</remarks>
public sealed record GgufTensorPlan(string Name, long[] Shape, string SourceType, GgmlType Type, long ByteLength)
{
    /// <summary>Shape as text, e.g. <c>[512, 128]</c>.</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}

/// <summary>Progress of <see cref="GgufConverter.Write"/>: reported once per tensor, after its data was written.</summary>
/// <param name="Index">Tensors finished (1-based index of this one).</param>
/// <param name="Count">Tensors in all.</param>
/// <param name="Tensor">The tensor just written.</param>
/// <param name="BytesDone">Tensor bytes written so far.</param>
/// <param name="BytesTotal">Tensor bytes in all.</param>
public readonly record struct GgufConvertProgress(int Index, int Count, GgufTensorPlan Tensor, long BytesDone, long BytesTotal);

/// <summary>Converts a Hugging Face checkpoint directory (<c>config.json</c> + <c>*.safetensors</c> + tokenizer files) into
/// one GGUF v3 file.</summary>
/// <remarks>
/// <para>Metadata: <c>general.architecture</c> (<c>based</c>, <c>transnormer</c> or <c>aaren</c>, detected as
/// <see cref="ModelLoader.DetectFamily"/> does), <c>general.name</c>, <c>general.file_type</c>,
/// <c>general.quantization_version</c> = 2, <c>general.alignment</c> = 32, the whole config.json under
/// <c>{architecture}.</c> (<see cref="GgufConfig"/>), and the tokenizer (<see cref="GgufTokenizer"/>).</para>
/// <para>Tensors keep their checkpoint names and order. With <c>f16</c>, <c>q8_0</c> or <c>q4_0</c>, only weight matrices
/// change type: 2-D tensors whose name ends in <c>.weight</c> and has no <c>norm</c> or <c>conv</c> segment (token
/// embeddings and output heads included); for the quantized types their column count must also be a multiple of 32.
/// Everything else (norms, biases, vectors, conv kernels, LRPE <c>*.lrpe.theta</c>, Aaren <c>*.attn.query</c>, other ranks)
/// stays f32; integer tensors are copied as I32/I64. Quantization is ggml's reference quantizer, row by row, so memory
/// stays at one row per tensor. Shard selection: the files of <c>model.safetensors.index.json</c> if present, else
/// <c>model*.safetensors</c>, else every <c>*.safetensors</c> (so a golden.safetensors beside model.safetensors is ignored).</para>
/// Not thread-safe; dispose to unmap the checkpoint.
/// </remarks>
public sealed unsafe class GgufConverter : IDisposable
{
    /// <summary>Value of <c>general.quantization_version</c> (ggml's current <c>GGML_QNT_VERSION</c>).</summary>
    public const uint QuantizationVersion = 2;

    private readonly List<SafetensorsFile> _files = [];
    private readonly List<(GgufTensorPlan Plan, SafetensorsFile File, SafetensorsTensor Source)> _tensors = [];
    private readonly List<KeyValuePair<string, GgufValue>> _metadata = [];

    private GgufConverter(string directory, GgufFileType fileType, string? name)
    {
        Directory = Path.GetFullPath(directory);
        FileType = fileType;
        ConfigPath = Path.Combine(Directory, "config.json");
        if (!File.Exists(ConfigPath)) throw new ModelConfigException($"config: no config.json in '{Directory}'");
        string json = File.ReadAllText(ConfigPath);
        Architecture = ModelLoader.DetectFamily(json, ConfigPath);
        Name = name ?? Path.GetFileName(Directory.TrimEnd(Path.DirectorySeparatorChar));

        _metadata.Add(new("general.architecture", GgufValue.String(Architecture)));
        _metadata.Add(new("general.name", GgufValue.String(Name)));
        _metadata.Add(new("general.file_type", GgufValue.UInt32((uint)fileType)));
        _metadata.Add(new("general.quantization_version", GgufValue.UInt32(QuantizationVersion)));
        _metadata.Add(new("general.alignment", GgufValue.UInt32(GgufReader.DefaultAlignment)));
        _metadata.AddRange(GgufConfig.Flatten(json, Architecture, ConfigPath));
        using (var config = JsonDocument.Parse(json))
        {
            var (entries, description) = GgufTokenizer.FromDirectory(Directory, config.RootElement);
            _metadata.AddRange(entries);
            TokenizerDescription = description;
        }
    }

    private void LoadTensors()
    {
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string path in SafetensorsWeightSource.ModelFiles(Directory))
        {
            var f = new SafetensorsFile(path);
            _files.Add(f);
            foreach (var t in f.Tensors.Values)
            {
                if (!seen.TryAdd(t.Name, f.Path)) throw f.Error($"tensor '{t.Name}' is also defined in '{seen[t.Name]}'");
                var type = ChooseType(t.Name, t.Shape, t.DType, FileType);
                long[] dims = t.Shape.Length == 0 ? [1] : t.Shape.Reverse().ToArray();
                var plan = new GgufTensorPlan(t.Name, t.Shape, t.DType.ToString(), type, GgufWriter.ByteLength(type, dims));
                _tensors.Add((plan, f, t));
            }
        }
    }

    /// <summary>Reads and plans the conversion of <paramref name="directory"/>; nothing is written yet.</summary>
    /// <param name="directory">Checkpoint directory.</param>
    /// <param name="fileType">Target: f32, f16, q8_0 or q4_0 for the weight matrices.</param>
    /// <param name="name">Value of <c>general.name</c> (default: the directory's name).</param>
    /// <exception cref="ModelLoadException">Missing or malformed config or weights.</exception>
    public static GgufConverter Open(string directory, GgufFileType fileType, string? name = null)
    {
        var c = new GgufConverter(directory, fileType, name);
        try
        {
            c.LoadTensors();
            return c;
        }
        catch
        {
            c.Dispose();
            throw;
        }
    }

    /// <summary>Opens, writes <paramref name="outputPath"/> and closes; returns what was written.</summary>
    public static IReadOnlyList<GgufTensorPlan> Convert(string directory, string outputPath, GgufFileType fileType, IProgress<GgufConvertProgress>? progress = null)
    {
        using var c = Open(directory, fileType);
        c.Write(outputPath, progress);
        return c.Tensors;
    }

    /// <summary>Parses <c>f32</c>, <c>f16</c>, <c>q8_0</c> or <c>q4_0</c> (case-insensitive).</summary>
    /// <exception cref="ArgumentException">Anything else.</exception>
    public static GgufFileType ParseFileType(string text) => text.ToLowerInvariant() switch
    {
        "f32" => GgufFileType.AllF32,
        "f16" => GgufFileType.MostlyF16,
        "q8_0" => GgufFileType.MostlyQ8_0,
        "q4_0" => GgufFileType.MostlyQ4_0,
        _ => throw new ArgumentException($"convert: type '{text}' is not one of f32, f16, q8_0, q4_0", nameof(text)),
    };

    /// <summary>Checkpoint directory.</summary>
    public string Directory { get; }

    /// <summary>Its config.json.</summary>
    public string ConfigPath { get; }

    /// <summary><c>general.architecture</c>.</summary>
    public string Architecture { get; }

    /// <summary><c>general.name</c>.</summary>
    public string Name { get; }

    /// <summary>Target type.</summary>
    public GgufFileType FileType { get; }

    /// <summary>What was found of the tokenizer.</summary>
    public string TokenizerDescription { get; }

    /// <summary>Metadata to be written, in order.</summary>
    public IReadOnlyList<KeyValuePair<string, GgufValue>> Metadata => _metadata;

    /// <summary>Tensors to be written, in order.</summary>
    public IReadOnlyList<GgufTensorPlan> Tensors => _tensors.Select(t => t.Plan).ToArray();

    /// <summary>Tensor bytes in all (without padding).</summary>
    public long TensorBytes => _tensors.Sum(t => t.Plan.ByteLength);

    /// <summary>The type a checkpoint tensor gets under <paramref name="fileType"/> (see the class remarks).</summary>
    public static GgmlType ChooseType(string name, long[] shape, SafetensorsDType source, GgufFileType fileType)
    {
        if (source == SafetensorsDType.I32) return GgmlType.I32;
        if (source == SafetensorsDType.I64) return GgmlType.I64;
        if (fileType == GgufFileType.AllF32 || !IsWeightMatrix(name, shape)) return GgmlType.F32;
        return fileType switch
        {
            GgufFileType.MostlyF16 => GgmlType.F16,
            GgufFileType.MostlyQ8_0 => shape[1] % 32 == 0 ? GgmlType.Q8_0 : GgmlType.F32,
            GgufFileType.MostlyQ4_0 => shape[1] % 32 == 0 ? GgmlType.Q4_0 : GgmlType.F32,
            _ => GgmlType.F32,
        };
    }

    /// <summary>Whether a tensor is a weight matrix that f16/q8_0/q4_0 may convert.</summary>
    public static bool IsWeightMatrix(string name, long[] shape)
    {
        if (shape.Length != 2 || !name.EndsWith(".weight", StringComparison.Ordinal)) return false;
        if (name.EndsWith(".lrpe.theta", StringComparison.Ordinal) || name.EndsWith(".attn.query", StringComparison.Ordinal)) return false;
        foreach (var segment in name.Split('.'))
            if (segment.Contains("norm", StringComparison.Ordinal) || segment.Contains("conv", StringComparison.Ordinal)) return false;
        return true;
    }

    /// <summary>Writes the GGUF file (atomically), reporting each finished tensor.</summary>
    /// <returns>The file's size in bytes.</returns>
    public long Write(string outputPath, IProgress<GgufConvertProgress>? progress = null)
    {
        var writer = new GgufWriter();
        foreach (var (k, v) in _metadata) writer.Add(k, v);
        long total = TensorBytes, done = 0;
        for (int i = 0; i < _tensors.Count; i++)
        {
            var (plan, file, source) = _tensors[i];
            int index = i + 1;
            long[] dims = plan.Shape.Length == 0 ? [1] : plan.Shape.Reverse().ToArray();
            writer.AddTensor(plan.Name, plan.Type, dims, s =>
            {
                WriteTensor(s, plan, file, source);
                done += plan.ByteLength;
                progress?.Report(new GgufConvertProgress(index, _tensors.Count, plan, done, total));
            });
        }
        writer.Save(outputPath);
        return new FileInfo(outputPath).Length;
    }

    private static void WriteTensor(Stream s, GgufTensorPlan plan, SafetensorsFile file, SafetensorsTensor source)
    {
        byte* src = file.Address(source);
        bool sameType = (plan.Type, source.DType) switch
        {
            (GgmlType.F32, SafetensorsDType.F32) or (GgmlType.F16, SafetensorsDType.F16) or (GgmlType.I32, SafetensorsDType.I32) or (GgmlType.I64, SafetensorsDType.I64) => true,
            _ => false,
        };
        if (sameType)
        {
            for (long off = 0; off < source.ByteLength; off += 1 << 30)
                s.Write(new ReadOnlySpan<byte>(src + off, (int)Math.Min(1 << 30, source.ByteLength - off)));
            return;
        }
        // Convert row by row: decode the source row to f32, encode it as the target type.
        var sourceType = source.DType switch
        {
            SafetensorsDType.F32 => DType.F32,
            SafetensorsDType.F16 => DType.F16,
            SafetensorsDType.BF16 => DType.BF16,
            _ => throw file.Error($"tensor '{source.Name}' of dtype {source.DType} cannot be converted to {GgmlTypeInfo.Name(plan.Type)}"),
        };
        var targetType = GgmlTypeInfo.ToDType(plan.Type) ?? throw new InvalidOperationException($"convert: no encoder for {plan.Type}");
        int cols = source.Shape.Length == 0 ? 1 : checked((int)source.Shape[^1]);
        long rows = source.ElementCount / cols;
        int sourceRowBytes = (int)QuantTraits.Get(sourceType).RowBytes(cols);
        var row = new float[cols];
        var encoded = new byte[QuantTraits.Get(targetType).RowBytes(cols)];
        for (long r = 0; r < rows; r++)
        {
            TypeConversion.ToF32(sourceType, src + r * sourceRowBytes, row);
            Quantization.Quantize(targetType, row, encoded);
            s.Write(encoded);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var f in _files) f.Dispose();
        _files.Clear();
    }
}
