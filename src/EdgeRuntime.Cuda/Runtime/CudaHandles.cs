using System.Runtime.InteropServices;
using EdgeRuntime.Cuda.Interop;

namespace EdgeRuntime.Cuda.Runtime;

/// <summary>Device memory from <c>cuMemAlloc</c>, freed by <c>cuMemFree</c> (with the owning context made current first).</summary>
/// <remarks>The handle value is the <c>CUdeviceptr</c>. Safe to share for reading; writes are ordered by the stream that issues them.</remarks>
public sealed unsafe class DeviceBuffer : SafeHandle
{
    private readonly nint _context;

    internal DeviceBuffer(nint context, long bytes) : base(0, ownsHandle: true)
    {
        _context = context;
        Bytes = bytes;
        ulong p;
        CudaStatus.ThrowIfFailed(CuDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent");
        CudaStatus.ThrowIfFailed(CuDriver.cuMemAlloc(&p, (nuint)Math.Max(bytes, 4)), $"cuMemAlloc ({bytes} bytes)");
        SetHandle((nint)p);
    }

    /// <summary>Bytes allocated.</summary>
    public long Bytes { get; }

    /// <summary>The device address.</summary>
    public ulong Pointer => (ulong)handle;

    /// <inheritdoc />
    public override bool IsInvalid => handle == 0;

    /// <summary>Copies <paramref name="source"/> to the start of the buffer, synchronously.</summary>
    public void Upload<T>(ReadOnlySpan<T> source, long byteOffset = 0) where T : unmanaged
    {
        long bytes = (long)source.Length * sizeof(T);
        if (byteOffset < 0 || byteOffset + bytes > Bytes) throw new ArgumentOutOfRangeException(nameof(source), $"cuda: {bytes} bytes at {byteOffset} do not fit a buffer of {Bytes}");
        if (bytes == 0) return;
        CudaStatus.ThrowIfFailed(CuDriver.cuCtxSetCurrent(_context), "cuCtxSetCurrent");
        fixed (T* p = source) CudaStatus.ThrowIfFailed(CuDriver.cuMemcpyHtoD(Pointer + (ulong)byteOffset, p, (nuint)bytes), "cuMemcpyHtoD");
    }

    /// <summary>Copies the start of the buffer into <paramref name="destination"/>, synchronously.</summary>
    public void Download<T>(Span<T> destination, long byteOffset = 0) where T : unmanaged
    {
        long bytes = (long)destination.Length * sizeof(T);
        if (byteOffset < 0 || byteOffset + bytes > Bytes) throw new ArgumentOutOfRangeException(nameof(destination), $"cuda: {bytes} bytes at {byteOffset} do not fit a buffer of {Bytes}");
        if (bytes == 0) return;
        CudaStatus.ThrowIfFailed(CuDriver.cuCtxSetCurrent(_context), "cuCtxSetCurrent");
        fixed (T* p = destination) CudaStatus.ThrowIfFailed(CuDriver.cuMemcpyDtoH(p, Pointer + (ulong)byteOffset, (nuint)bytes), "cuMemcpyDtoH");
    }

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        CuDriver.cuCtxSetCurrent(_context);
        return CuDriver.cuMemFree((ulong)handle) == 0;
    }
}

/// <summary>Page-locked host memory from <c>cuMemAllocHost</c>: the source or target of copies captured in a graph.</summary>
/// <remarks>Owned by one batch; not thread-safe.</remarks>
public sealed unsafe class PinnedBuffer : SafeHandle
{
    private readonly nint _context;

    internal PinnedBuffer(nint context, long bytes) : base(0, ownsHandle: true)
    {
        _context = context;
        Bytes = bytes;
        void* p;
        CudaStatus.ThrowIfFailed(CuDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent");
        CudaStatus.ThrowIfFailed(CuDriver.cuMemAllocHost(&p, (nuint)Math.Max(bytes, 4)), $"cuMemAllocHost ({bytes} bytes)");
        SetHandle((nint)p);
    }

    /// <summary>Bytes allocated.</summary>
    public long Bytes { get; }

    /// <summary>The host address.</summary>
    public void* Pointer => (void*)handle;

    /// <summary>The memory as <typeparamref name="T"/> values.</summary>
    public Span<T> AsSpan<T>() where T : unmanaged => new((void*)handle, checked((int)(Bytes / sizeof(T))));

    /// <inheritdoc />
    public override bool IsInvalid => handle == 0;

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        CuDriver.cuCtxSetCurrent(_context);
        return CuDriver.cuMemFreeHost((void*)handle) == 0;
    }
}

/// <summary>A loaded module (<c>cuModuleLoadData</c>), unloaded by <c>cuModuleUnload</c>.</summary>
/// <remarks>Functions taken from it stay valid while it lives. Thread-safe.</remarks>
internal sealed class ModuleHandle : SafeHandle
{
    private readonly nint _context;

    public ModuleHandle(nint context, nint module) : base(0, ownsHandle: true)
    {
        _context = context;
        SetHandle(module);
    }

    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle()
    {
        CuDriver.cuCtxSetCurrent(_context);
        return CuDriver.cuModuleUnload(handle) == 0;
    }
}

/// <summary>A retained primary context (<c>cuDevicePrimaryCtxRetain</c>), released with the device.</summary>
/// <remarks>Thread-safe; each thread that uses it calls <c>cuCtxSetCurrent</c>.</remarks>
internal sealed class PrimaryContextHandle : SafeHandle
{
    private readonly int _device;

    public PrimaryContextHandle(int device, nint context) : base(0, ownsHandle: true)
    {
        _device = device;
        SetHandle(context);
    }

    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle() => CuDriver.cuDevicePrimaryCtxRelease(_device) == 0;
}
