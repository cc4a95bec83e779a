using EdgeRuntime.Core.Tensors;
using EdgeRuntime.Cuda.Runtime;
using EdgeRuntime.Models.Formats;

namespace EdgeRuntime.Cuda.Models;

/// <summary>How weight matrices are stored on the device.</summary>
public enum CudaWeightType
{
    /// <summary>As the checkpoint stores them (f32, Q8_0, Q4_0; f16/bf16 files are widened to f32 by the loaders, as on the CPU).</summary>
    AsStored,

    /// <summary>f32 matrices narrowed to f16 on upload (half the bytes; numbers differ from the CPU's f32 by f16 rounding).</summary>
    F16,
}

/// <summary>A weight matrix on the device with its optional bias: <c>(Rows, Cols)</c> of <see cref="Type"/>.</summary>
/// <param name="Name">Tensor name, for messages.</param>
/// <param name="Pointer">Device address of row 0.</param>
/// <param name="Type">Element type.</param>
/// <param name="Rows">Output features.</param>
/// <param name="Cols">Input features.</param>
/// <param name="Bias">Device address of <c>Rows</c> floats, or 0.</param>
internal sealed record DeviceMatrix(string Name, ulong Pointer, DType Type, int Rows, int Cols, ulong Bias)
{
    public bool Quantized => Type is DType.Q8_0 or DType.Q4_0;
}

/// <summary>Every device allocation holding a model's weights, uploaded once at load.</summary>
/// <remarks>Immutable after loading; the device memory is read by every session's kernels. Disposed with the model.</remarks>
internal sealed unsafe class DeviceWeights : IDisposable
{
    private readonly CudaDevice _device;
    private readonly CudaWeightType _weightType;
    private readonly List<DeviceBuffer> _buffers = [];

    public DeviceWeights(CudaDevice device, CudaWeightType weightType)
    {
        _device = device;
        _weightType = weightType;
    }

    /// <summary>Bytes of device memory the weights take.</summary>
    public long Bytes { get; private set; }

    /// <summary>Bytes of the weight matrices (what one decode step must read), excluding vectors.</summary>
    public long MatrixBytes { get; private set; }

    /// <summary>Largest column count of a quantized matrix (sizes the activation quantization buffers), 0 if none.</summary>
    public int MaxQuantizedCols { get; private set; }

    /// <summary>Uploads a matrix and its bias (empty = none).</summary>
    public DeviceMatrix Matrix(WeightMatrix m, ReadOnlySpan<float> bias = default)
    {
        ulong b = bias.IsEmpty ? 0 : Floats(bias);
        DType type = m.Type;
        ulong p;
        if (type == DType.F32 && _weightType == CudaWeightType.F16)
        {
            long count = (long)m.Rows * m.Cols;
            var half = new Half[count];
            var src = new ReadOnlySpan<float>(m.Data, checked((int)count));
            for (int i = 0; i < half.Length; i++) half[i] = (Half)src[i];
            p = Upload(half.AsSpan());
            type = DType.F16;
            MatrixBytes += count * 2;
        }
        else
        {
            p = Upload(new ReadOnlySpan<byte>(m.Data, checked((int)m.ByteLength)));
            MatrixBytes += m.ByteLength;
        }
        if (type is DType.Q8_0 or DType.Q4_0) MaxQuantizedCols = Math.Max(MaxQuantizedCols, m.Cols);
        else if (type is not (DType.F32 or DType.F16))
            throw new NotSupportedException($"cuda: tensor '{m.Name}' has type {type}, expected F32, F16, Q8_0 or Q4_0");
        return new DeviceMatrix(m.Name, p, type, m.Rows, m.Cols, b);
    }

    /// <summary>Uploads floats (norm weights, biases, conv taps, queries, slopes).</summary>
    public ulong Floats(ReadOnlySpan<float> values) => Upload(values);

    private ulong Upload<T>(ReadOnlySpan<T> values) where T : unmanaged
    {
        long bytes = (long)values.Length * sizeof(T);
        var buffer = _device.Allocate(bytes);
        _buffers.Add(buffer);
        buffer.Upload(values);
        Bytes += bytes;
        return buffer.Pointer;
    }

    public void Dispose()
    {
        foreach (var b in _buffers) b.Dispose();
        _buffers.Clear();
    }
}
