using EdgeRuntime.Core.Kernels;

namespace EdgeRuntime.Core.Tensors;

/// <summary>A read-only row-major matrix of weights, <c>(Rows, Cols)</c>, stored in place (memory map or native buffer).</summary>
/// <remarks>
/// The owner of the bytes (a model file mapping or a <see cref="Memory.NativeBuffer"/>) must outlive this view.
/// Immutable; safe to share across threads.
/// </remarks>
public sealed unsafe class WeightMatrix
{
    /// <summary>Wraps <paramref name="data"/>, which holds <c>rows*cols</c> elements of <paramref name="type"/>.</summary>
    public WeightMatrix(string name, DType type, int rows, int cols, void* data)
    {
        if (rows <= 0) ThrowHelper.OutOfRange(nameof(rows), rows, "> 0");
        if (cols <= 0 || cols % DTypeInfo.BlockSize(type) != 0)
            ThrowHelper.OutOfRange(nameof(cols), cols, $"> 0 and a multiple of {DTypeInfo.BlockSize(type)}");
        Name = name;
        Type = type;
        Rows = rows;
        Cols = cols;
        Data = data;
        RowBytes = DTypeInfo.ByteCount(type, cols);
    }

    /// <summary>The tensor's name in its file, for messages.</summary>
    public string Name { get; }

    /// <summary>Element type.</summary>
    public DType Type { get; }

    /// <summary>Output features.</summary>
    public int Rows { get; }

    /// <summary>Input features.</summary>
    public int Cols { get; }

    /// <summary>Bytes of one row.</summary>
    public long RowBytes { get; }

    /// <summary>Total bytes.</summary>
    public long ByteLength => RowBytes * Rows;

    /// <summary>Address of row 0.</summary>
    public void* Data { get; }

    /// <summary>Address of a row.</summary>
    public byte* Row(int row) => (byte*)Data + row * RowBytes;

    /// <summary>Copies row <paramref name="row"/> into <paramref name="destination"/> as floats (embedding lookup).</summary>
    public void ReadRow(int row, Span<float> destination)
    {
        if ((uint)row >= (uint)Rows) ThrowHelper.OutOfRange(nameof(row), row, $"0..{Rows - 1} ({Name})");
        if (destination.Length < Cols) ThrowHelper.TooShort(nameof(destination), destination.Length, Cols);
        TypeConversion.ToF32(Type, Row(row), destination[..Cols]);
    }
}
