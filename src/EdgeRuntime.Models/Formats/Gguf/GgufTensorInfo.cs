namespace EdgeRuntime.Models.Formats.Gguf;

/// <summary>One tensor entry of a GGUF file, validated against the file.</summary>
/// <param name="Name">Tensor name (this project keeps the checkpoint's own names).</param>
/// <param name="Type">Element type.</param>
/// <param name="Dimensions">ggml order, innermost first: <c>ne[0]</c> is the row length (columns).</param>
/// <param name="Offset">Absolute byte offset of the data in the file.</param>
/// <param name="ByteLength">Bytes of data.</param>
/// <remarks>Immutable; safe to share.</remarks>
public sealed record GgufTensorInfo(string Name, GgmlType Type, long[] Dimensions, long Offset, long ByteLength)
{
    /// <summary>Shape outermost first (PyTorch order): the reverse of <see cref="Dimensions"/>; a <c>[rows, cols]</c>
    /// matrix has <c>Dimensions = [cols, rows]</c>.</summary>
    public long[] Shape { get; } = Dimensions.Reverse().ToArray();

    /// <summary>Number of elements.</summary>
    public long ElementCount => Dimensions.Aggregate(1L, (a, b) => a * b);

    /// <summary>Shape as text, PyTorch order, e.g. <c>[512, 128]</c>.</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}
