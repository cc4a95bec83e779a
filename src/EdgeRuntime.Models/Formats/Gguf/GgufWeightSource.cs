using EdgeRuntime.Core.Kernels;
using EdgeRuntime.Core.Memory;
using EdgeRuntime.Core.Quant;
using EdgeRuntime.Core.Tensors;

namespace EdgeRuntime.Models.Formats.Gguf;

/// <summary>Weights of a GGUF file, looked up by the checkpoint's own tensor names and checked in PyTorch order.</summary>
/// <remarks>
/// Tensor names in this project's GGUF files are the Hugging Face checkpoint's names (the families look tensors up by
/// them), not llama.cpp's <c>blk.N.*</c> names. Shapes are compared outermost first like the safetensors source: a GGUF
/// tensor with <c>ne = [cols, rows]</c> is a <c>[rows, cols]</c> matrix. F32, Q8_0 and Q4_0 matrices are used in place
/// from the memory map; F16 and BF16 matrices are widened to f32 once at load into native buffers owned by this source.
/// <see cref="WeightSource.Floats"/> decodes any of these types (dequantizing quantized ones). Not thread-safe while
/// loading; the returned weights are immutable and shareable.
/// </remarks>
public sealed unsafe class GgufWeightSource : WeightSource
{
    private readonly List<NativeBuffer> _converted = [];
    private readonly bool _ownsFile;

    /// <summary>Opens and validates <paramref name="path"/>.</summary>
    /// <exception cref="ModelFormatException">Malformed file.</exception>
    public GgufWeightSource(string path) : this(new GgufReader(path), ownsFile: true)
    {
    }

    /// <summary>Wraps an open reader; with <paramref name="ownsFile"/> the source disposes it.</summary>
    public GgufWeightSource(GgufReader file, bool ownsFile)
    {
        ArgumentNullException.ThrowIfNull(file);
        Quantization.Register();
        File = file;
        _ownsFile = ownsFile;
    }

    /// <summary>The underlying file (metadata and tensor table).</summary>
    public GgufReader File { get; }

    /// <inheritdoc />
    public override string Location => File.Path;

    /// <inheritdoc />
    public override bool Contains(string name) => File.FindTensor(name) is not null;

    /// <inheritdoc />
    public override long[]? ShapeOf(string name) => File.FindTensor(name)?.Shape;

    /// <inheritdoc />
    public override ModelFormatException Error(string what) => File.Error(what);

    /// <inheritdoc />
    protected override WeightMatrix CreateMatrix(string name, int rows, int cols)
    {
        var t = File.GetTensor(name);
        switch (t.Type)
        {
            case GgmlType.F32:
                return new WeightMatrix(name, DType.F32, rows, cols, File.Address(t));
            case GgmlType.Q8_0:
                return new WeightMatrix(name, DType.Q8_0, rows, cols, File.Address(t));
            case GgmlType.Q4_0:
                return new WeightMatrix(name, DType.Q4_0, rows, cols, File.Address(t));
            case GgmlType.F16:
            case GgmlType.BF16:
                var buffer = new NativeBuffer((long)rows * cols);
                _converted.Add(buffer);
                var dtype = t.Type == GgmlType.F16 ? DType.F16 : DType.BF16;
                for (int r = 0; r < rows; r++)
                    TypeConversion.ToF32(dtype, File.Address(t) + (long)r * cols * 2, new Span<float>(buffer.Pointer + (long)r * cols, cols));
                return new WeightMatrix(name, DType.F32, rows, cols, buffer.Pointer);
            default:
                throw Error($"tensor '{name}' has type {GgmlTypeInfo.Name(t.Type)}, expected F32, F16, BF16, Q8_0 or Q4_0");
        }
    }

    /// <inheritdoc />
    protected override void ReadF32(string name, Span<float> destination)
    {
        var t = File.GetTensor(name);
        var dtype = GgmlTypeInfo.ToDType(t.Type)
            ?? throw Error($"tensor '{name}' has type {GgmlTypeInfo.Name(t.Type)}, expected F32, F16, BF16, Q8_0 or Q4_0");
        // Decode one row (ne[0] values) at a time: block types are row-aligned, and spans stay small.
        int rowLength = checked((int)t.Dimensions[0]);
        long rowBytes = QuantTraits.Get(dtype).RowBytes(rowLength);
        byte* src = File.Address(t);
        for (int start = 0; start < destination.Length; start += rowLength, src += rowBytes)
            TypeConversion.ToF32(dtype, src, destination.Slice(start, rowLength));
    }

    /// <inheritdoc />
    protected override long StoredBytes(string name) => File.GetTensor(name).ByteLength;

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        foreach (var b in _converted) b.Dispose();
        _converted.Clear();
        if (_ownsFile) File.Dispose();
    }
}
