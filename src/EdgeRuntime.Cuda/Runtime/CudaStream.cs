using EdgeRuntime.Cuda.Interop;

namespace EdgeRuntime.Cuda.Runtime;

/// <summary>A CUDA stream of one session or batch, with the kernel launches, copies and graph replays issued on it.</summary>
/// <remarks>Owned by one batch; not thread-safe.</remarks>
public sealed unsafe class CudaStream : IDisposable
{
    private readonly CudaDevice _device;
    private nint _stream;

    /// <summary>Creates a stream on <paramref name="device"/> (blocking with respect to the legacy default stream).</summary>
    public CudaStream(CudaDevice device)
    {
        _device = device;
        device.MakeCurrent();
        nint s;
        CudaStatus.ThrowIfFailed(CuDriver.cuStreamCreate(&s, 0), "cuStreamCreate");
        _stream = s;
    }

    internal nint Handle => _stream;

    /// <summary>The device.</summary>
    public CudaDevice Device => _device;

    /// <summary>Launches one kernel (see <see cref="KernelOp"/>).</summary>
    public void Launch(KernelOp op)
    {
        int n = op.Arguments.Length;
        void** parameters = stackalloc void*[Math.Max(n, 1)];
        fixed (ulong* args = op.Arguments)
        {
            for (int i = 0; i < n; i++) parameters[i] = args + i;
            CudaStatus.ThrowIfFailed(
                CuDriver.cuLaunchKernel(op.Function, op.GridX, op.GridY, 1, op.BlockX, 1, 1, op.SharedBytes, _stream, parameters, null),
                $"cuLaunchKernel({op.Name})");
        }
    }

    /// <summary>Host to device, ordered on this stream. <paramref name="source"/> must stay valid until the stream reaches the copy
    /// (pinned memory inside a graph; pageable memory is staged by the driver before the call returns).</summary>
    public void CopyToDevice(ulong destination, void* source, long bytes) =>
        CudaStatus.ThrowIfFailed(CuDriver.cuMemcpyHtoDAsync(destination, source, (nuint)bytes, _stream), "cuMemcpyHtoDAsync");

    /// <summary>Device to host, ordered on this stream (complete after <see cref="Synchronize"/>).</summary>
    public void CopyToHost(void* destination, ulong source, long bytes) =>
        CudaStatus.ThrowIfFailed(CuDriver.cuMemcpyDtoHAsync(destination, source, (nuint)bytes, _stream), "cuMemcpyDtoHAsync");

    /// <summary>Device to device, ordered on this stream.</summary>
    public void CopyOnDevice(ulong destination, ulong source, long bytes) =>
        CudaStatus.ThrowIfFailed(CuDriver.cuMemcpyDtoDAsync(destination, source, (nuint)bytes, _stream), "cuMemcpyDtoDAsync");

    /// <summary>Waits until everything issued on this stream has finished.</summary>
    public void Synchronize() => CudaStatus.ThrowIfFailed(CuDriver.cuStreamSynchronize(_stream), "cuStreamSynchronize");

    /// <summary>Records what <paramref name="record"/> issues on this stream into a graph instead of running it.</summary>
    public CudaGraph Capture(Action<CudaStream> record)
    {
        _device.MakeCurrent();
        CudaStatus.ThrowIfFailed(CuDriver.cuStreamBeginCapture(_stream, CuDriver.StreamCaptureModeThreadLocal), "cuStreamBeginCapture");
        nint graph = 0;
        try
        {
            record(this);
        }
        finally
        {
            int status = CuDriver.cuStreamEndCapture(_stream, &graph);
            if (status != 0 && graph != 0) CuDriver.cuGraphDestroy(graph);
            CudaStatus.ThrowIfFailed(status, "cuStreamEndCapture");
        }
        nint exec;
        int instantiate = CuDriver.cuGraphInstantiateWithFlags(&exec, graph, 0);
        if (instantiate != 0) CuDriver.cuGraphDestroy(graph);
        CudaStatus.ThrowIfFailed(instantiate, "cuGraphInstantiateWithFlags");
        return new CudaGraph(_device, graph, exec);
    }

    /// <summary>An event recorded now on this stream, for timing.</summary>
    public nint RecordEvent()
    {
        nint e;
        CudaStatus.ThrowIfFailed(CuDriver.cuEventCreate(&e, 0), "cuEventCreate");
        CudaStatus.ThrowIfFailed(CuDriver.cuEventRecord(e, _stream), "cuEventRecord");
        return e;
    }

    /// <summary>Milliseconds between two events from <see cref="RecordEvent"/>, which are destroyed.</summary>
    public static float ElapsedAndDestroy(nint start, nint end)
    {
        try
        {
            CudaStatus.ThrowIfFailed(CuDriver.cuEventSynchronize(end), "cuEventSynchronize");
            return CudaDriver.ElapsedMilliseconds(start, end);
        }
        finally
        {
            CuDriver.cuEventDestroy(start);
            CuDriver.cuEventDestroy(end);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_stream == 0) return;
        _device.MakeCurrent();
        CuDriver.cuStreamDestroy(_stream);
        _stream = 0;
    }
}

/// <summary>An instantiated CUDA graph (one captured decode step), replayed with <see cref="Launch"/>.</summary>
/// <remarks>The kernels' arguments are fixed at capture; what changes per step (tokens, positions in the states) is read from
/// device memory. Owned by one batch; not thread-safe.</remarks>
public sealed class CudaGraph : IDisposable
{
    private readonly CudaDevice _device;
    private nint _graph, _exec;

    internal CudaGraph(CudaDevice device, nint graph, nint exec)
    {
        _device = device;
        _graph = graph;
        _exec = exec;
    }

    /// <summary>Replays the graph on <paramref name="stream"/>.</summary>
    public void Launch(CudaStream stream) =>
        CudaStatus.ThrowIfFailed(CuDriver.cuGraphLaunch(_exec, stream.Handle), "cuGraphLaunch");

    /// <inheritdoc />
    public void Dispose()
    {
        if (_exec == 0) return;
        _device.MakeCurrent();
        CuDriver.cuGraphExecDestroy(_exec);
        CuDriver.cuGraphDestroy(_graph);
        _exec = _graph = 0;
    }
}

/// <summary>One kernel launch: function, grid <c>(GridX, GridY)</c>, <c>BlockX</c> threads, dynamic shared memory and the
/// arguments, each widened to 8 bytes (pointers and 64-bit values as is, 32-bit ints and floats in the low half, which the
/// driver reads on this little-endian machine).</summary>
/// <param name="Name">Kernel name, for messages.</param>
/// <param name="Function">The <c>CUfunction</c>.</param>
/// <param name="GridX">Blocks along x.</param>
/// <param name="GridY">Blocks along y.</param>
/// <param name="BlockX">Threads per block.</param>
/// <param name="SharedBytes">Dynamic shared memory.</param>
/// <param name="Arguments">The kernel's parameters in order.</param>
public sealed record KernelOp(string Name, nint Function, uint GridX, uint GridY, uint BlockX, uint SharedBytes, ulong[] Arguments);

/// <summary>Widens kernel arguments to the 8-byte slots of <see cref="KernelOp.Arguments"/>.</summary>
/// <remarks>Stateless; safe from any thread.</remarks>
public static class Arg
{
    /// <summary>A 32-bit int.</summary>
    public static ulong I(int value) => (uint)value;

    /// <summary>A 32-bit float.</summary>
    public static ulong F(float value) => BitConverter.SingleToUInt32Bits(value);

    /// <summary>A 64-bit double.</summary>
    public static ulong D(double value) => BitConverter.DoubleToUInt64Bits(value);

    /// <summary>A 64-bit integer.</summary>
    public static ulong L(long value) => (ulong)value;

    /// <summary>A device pointer (0 = null).</summary>
    public static ulong P(ulong pointer) => pointer;
}
