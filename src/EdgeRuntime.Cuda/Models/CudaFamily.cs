using EdgeRuntime.Cuda.Runtime;
using EdgeRuntime.Models.Formats;
using EdgeRuntime.Models.Sessions;

namespace EdgeRuntime.Cuda.Models;

/// <summary>Device buffers of one batch: the sessions' states (rows of <see cref="StateStride"/> floats), the step's inputs
/// (tokens or input vectors) and outputs, the quantized-activation scratch, and the family's activation buffers.</summary>
/// <remarks>Owned by one <see cref="CudaBatch"/>; not thread-safe.</remarks>
internal sealed class CudaWorkspace : IDisposable
{
    private readonly CudaDevice _device;
    private readonly List<DeviceBuffer> _buffers = [];

    public CudaWorkspace(CudaDevice device, CudaFamily family, int size)
        : this(device, size, family.StateStride, family.InputLength, family.OutputLength, family.Weights.MaxQuantizedCols)
    {
    }

    /// <summary>A workspace of explicit sizes (kernel checks).</summary>
    public CudaWorkspace(CudaDevice device, int size, int stateStride, int inputLength, int outputLength, int quantizedCols)
    {
        _device = device;
        Size = size;
        StateStride = stateStride;
        States = Alloc((long)size * StateStride);
        Tokens = Alloc(size);
        Inputs = inputLength > 0 ? Alloc((long)size * inputLength) : 0;
        Outputs = Alloc((long)size * outputLength);
        QuantizedCols = quantizedCols;
        QuantizedValues = QuantizedCols > 0 ? AllocBytes((long)size * QuantizedCols) : 0;
        QuantizedScales = QuantizedCols > 0 ? Alloc((long)size * (QuantizedCols / 32)) : 0;
        Bytes = _buffers.Sum(b => b.Bytes);
    }

    public int Size { get; }

    public int StateStride { get; }

    /// <summary>(Size, StateStride) floats.</summary>
    public ulong States { get; }

    /// <summary>Size int32 tokens (language models).</summary>
    public ulong Tokens { get; }

    /// <summary>(Size, InputLength) floats (sequence models), else 0.</summary>
    public ulong Inputs { get; }

    /// <summary>(Size, OutputLength) floats: logits or outputs.</summary>
    public ulong Outputs { get; }

    public int QuantizedCols { get; }

    /// <summary>(Size, QuantizedCols) int8.</summary>
    public ulong QuantizedValues { get; }

    /// <summary>(Size, QuantizedCols/32) floats.</summary>
    public ulong QuantizedScales { get; }

    /// <summary>The family's own buffers (set by <see cref="CudaFamily.CreateBuffers"/>).</summary>
    public object? FamilyBuffers { get; set; }

    /// <summary>Device bytes of all buffers.</summary>
    public long Bytes { get; private set; }

    /// <summary>A buffer of <paramref name="floats"/> floats (4-byte elements).</summary>
    public ulong Alloc(long floats) => AllocBytes(floats * 4);

    private ulong AllocBytes(long bytes)
    {
        var b = _device.Allocate(Math.Max(bytes, 4));
        _buffers.Add(b);
        Bytes += b.Bytes;
        return b.Pointer;
    }

    public void Dispose()
    {
        foreach (var b in _buffers) b.Dispose();
        _buffers.Clear();
    }
}

/// <summary>One model family's weights on the device and its decode step as kernel launches.</summary>
/// <remarks>Built once at load (weights uploaded once); immutable afterwards and shared by every batch of the model.</remarks>
internal abstract class CudaFamily : IDisposable
{
    protected CudaFamily(CudaDevice device, WeightSource source, CudaWeightType weightType)
    {
        Device = device;
        Source = source;
        Weights = new DeviceWeights(device, weightType);
    }

    public CudaDevice Device { get; }

    /// <summary>The checkpoint; kept open while the model lives (it owns converted host buffers), disposed with it.</summary>
    public WeightSource Source { get; }

    public DeviceWeights Weights { get; }

    public abstract ModelInfo Info { get; }

    /// <summary>Floats of one session's state, the CPU model's layout exactly.</summary>
    public abstract int StateLength { get; }

    /// <summary>Device row stride of a state in a batch: <see cref="StateLength"/> rounded up to 64 floats.</summary>
    public int StateStride => (StateLength + 63) / 64 * 64;

    /// <summary>Input floats per step (sequence models), 0 for token models.</summary>
    public virtual int InputLength => 0;

    /// <summary>Logits (padded vocabulary) or outputs per step.</summary>
    public abstract int OutputLength { get; }

    /// <summary>Largest valid token + 1 (rows of the embedding), 0 for sequence models.</summary>
    public virtual int TokenLimit => 0;

    /// <summary>Learned position rows (BASED), 0 when positions are unbounded.</summary>
    public virtual int PositionLimit => 0;

    /// <summary>Writes the empty state (the CPU model's InitState).</summary>
    public abstract void InitState(Span<float> state);

    /// <summary>Allocates the family's activation buffers for a batch.</summary>
    public abstract object CreateBuffers(CudaWorkspace workspace);

    /// <summary>Records one decode step for every session of the batch; <paramref name="head"/>: also the logits/outputs.</summary>
    public abstract void Record(StepRecorder recorder, bool head);

    public void Dispose()
    {
        Weights.Dispose();
        Source.Dispose();
    }
}
