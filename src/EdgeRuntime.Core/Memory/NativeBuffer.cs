using System.Runtime.InteropServices;

namespace EdgeRuntime.Core.Memory;

/// <summary>A 64-byte aligned block of native floats that never moves, so worker threads may hold its address.</summary>
/// <remarks>Zero-filled at allocation. Not thread-safe: one owner writes it; readers synchronise through the owner.</remarks>
public sealed unsafe class NativeBuffer : IDisposable
{
    private float* _data;

    /// <summary>Allocates <paramref name="length"/> zeroed floats.</summary>
    /// <exception cref="ArgumentOutOfRangeException">length is negative.</exception>
    public NativeBuffer(long length)
    {
        if (length < 0) ThrowHelper.OutOfRange(nameof(length), length, ">= 0");
        Length = length;
        nuint bytes = (nuint)Math.Max(1, length) * sizeof(float);
        _data = (float*)NativeMemory.AlignedAlloc(bytes, 64);
        NativeMemory.Clear(_data, bytes);
    }

    /// <summary>Number of floats.</summary>
    public long Length { get; }

    /// <summary>Address of the first float; valid until <see cref="Dispose"/>.</summary>
    public float* Pointer
    {
        get
        {
            ObjectDisposedException.ThrowIf(_data == null, this);
            return _data;
        }
    }

    /// <summary>The whole buffer as a span (length must fit in an int).</summary>
    public Span<float> Span => new(Pointer, checked((int)Length));

    /// <summary>A slice of the buffer.</summary>
    public Span<float> Slice(long start, int length)
    {
        if ((ulong)start + (ulong)length > (ulong)Length) ThrowHelper.OutOfRange(nameof(start), start, $"start + {length} <= {Length}");
        return new Span<float>(Pointer + start, length);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_data != null)
        {
            NativeMemory.AlignedFree(_data);
            _data = null;
        }
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees the memory if the owner forgot to.</summary>
    ~NativeBuffer()
    {
        if (_data != null) NativeMemory.AlignedFree(_data);
    }
}
