using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text;
using EdgeRuntime.Cuda.Interop;

namespace EdgeRuntime.Cuda.Runtime;

/// <summary>No CUDA driver or no device: the CUDA backend cannot run on this machine.</summary>
/// <remarks>Immutable; safe to share.</remarks>
public sealed class CudaUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CudaUnavailableException(string message) : base(message) { }
}

/// <summary>One NVIDIA GPU: its primary context, its description, and the project's kernels compiled for it.</summary>
/// <remarks>
/// <see cref="Open"/> loads <c>libcuda.so.1</c> (nothing CUDA is touched before), picks the device and retains its
/// primary context; the kernels are compiled (or read from the disk cache) at the first <see cref="Function"/> call.
/// A device may be shared by several models and threads: every entry point makes the context current on the calling
/// thread, and work is ordered by per-session streams.
/// </remarks>
public sealed unsafe class CudaDevice : IDisposable
{
    private readonly PrimaryContextHandle _context;
    private readonly Lock _moduleLock = new();
    private readonly ConcurrentDictionary<string, nint> _functions = new(StringComparer.Ordinal);
    private ModuleHandle? _module;

    private CudaDevice(int ordinal, PrimaryContextHandle context, Action<string>? log)
    {
        Ordinal = ordinal;
        _context = context;
        Log = log;
        byte* name = stackalloc byte[256];
        Check(CuDriver.cuDeviceGetName(name, 256, ordinal), "cuDeviceGetName");
        Name = Marshal.PtrToStringUTF8((nint)name) ?? "?";
        ComputeMajor = Attribute(CuDriver.AttributeComputeCapabilityMajor);
        ComputeMinor = Attribute(CuDriver.AttributeComputeCapabilityMinor);
        MultiprocessorCount = Attribute(CuDriver.AttributeMultiprocessorCount);
        L2CacheBytes = Attribute(CuDriver.AttributeL2CacheSize);
        nuint total;
        Check(CuDriver.cuDeviceTotalMem(&total, ordinal), "cuDeviceTotalMem");
        TotalMemory = (long)total;
        int version;
        Check(CuDriver.cuDriverGetVersion(&version), "cuDriverGetVersion");
        DriverVersion = version;
    }

    /// <summary>Device ordinal.</summary>
    public int Ordinal { get; }

    /// <summary>Marketing name, e.g. <c>NVIDIA H100 80GB HBM3</c>.</summary>
    public string Name { get; }

    /// <summary>Compute capability major.</summary>
    public int ComputeMajor { get; }

    /// <summary>Compute capability minor.</summary>
    public int ComputeMinor { get; }

    /// <summary>Streaming multiprocessors.</summary>
    public int MultiprocessorCount { get; }

    /// <summary>L2 bytes.</summary>
    public int L2CacheBytes { get; }

    /// <summary>Device memory bytes.</summary>
    public long TotalMemory { get; }

    /// <summary>Driver API version, e.g. 13000.</summary>
    public int DriverVersion { get; }

    /// <summary>The kernel image in use once compiled or loaded (null before the first kernel is needed).</summary>
    public KernelImage? Kernels { get; private set; }

    /// <summary>Diagnostics sink (compilation, cache use).</summary>
    public Action<string>? Log { get; }

    /// <summary>One line for logs: name, capability, memory, driver.</summary>
    public string Description => $"{Name} (sm_{ComputeMajor}{ComputeMinor}, {MultiprocessorCount} SMs, {TotalMemory / (1L << 30)} GiB, driver {DriverVersion / 1000}.{DriverVersion % 1000 / 10})";

    internal nint Context => _context.DangerousGetHandle();

    /// <summary>Opens device <paramref name="ordinal"/>.</summary>
    /// <exception cref="CudaUnavailableException">No driver, no device, or no device of that ordinal.</exception>
    public static CudaDevice Open(int ordinal = 0, Action<string>? log = null) =>
        TryOpen(ordinal, out var device, out string reason, log) ? device! : throw new CudaUnavailableException(reason);

    /// <summary>Opens device <paramref name="ordinal"/>, or says why not.</summary>
    public static bool TryOpen(int ordinal, out CudaDevice? device, out string reason, Action<string>? log = null)
    {
        device = null;
        if (!CudaDriver.TryInitialise(out reason)) return false;
        int count;
        if (CuDriver.cuDeviceGetCount(&count) != 0 || count == 0)
        {
            reason = "no CUDA device: the driver loaded but reports no GPU";
            return false;
        }
        if ((uint)ordinal >= (uint)count)
        {
            reason = $"no CUDA device {ordinal}: the driver reports {count}";
            return false;
        }
        int dev;
        nint ctx;
        int status = CuDriver.cuDeviceGet(&dev, ordinal);
        if (status == 0) status = CuDriver.cuDevicePrimaryCtxRetain(&ctx, dev);
        else ctx = 0;
        if (status != 0)
        {
            reason = $"CUDA device {ordinal} cannot be used: context creation failed with status {status}";
            return false;
        }
        var handle = new PrimaryContextHandle(dev, ctx);
        CudaStatus.ThrowIfFailed(CuDriver.cuCtxSetCurrent(ctx), "cuCtxSetCurrent");
        device = new CudaDevice(dev, handle, log);
        reason = "";
        return true;
    }

    /// <summary>Makes this device's context current on the calling thread.</summary>
    public void MakeCurrent() => Check(CuDriver.cuCtxSetCurrent(Context), "cuCtxSetCurrent");

    /// <summary>Allocates <paramref name="bytes"/> of device memory.</summary>
    public DeviceBuffer Allocate(long bytes) => new(Context, bytes);

    /// <summary>Allocates <paramref name="bytes"/> of page-locked host memory.</summary>
    public PinnedBuffer AllocatePinned(long bytes) => new(Context, bytes);

    /// <summary>Free and total device memory now.</summary>
    public (long Free, long Total) MemoryInfo()
    {
        MakeCurrent();
        nuint free, total;
        Check(CuDriver.cuMemGetInfo(&free, &total), "cuMemGetInfo");
        return ((long)free, (long)total);
    }

    /// <summary>The kernel <paramref name="name"/> (an <c>extern "C"</c> function of Kernels/*.cu), compiling the module at first use.</summary>
    /// <exception cref="CudaException">NVRTC is missing, the kernels do not compile, or no such kernel.</exception>
    public nint Function(string name)
    {
        if (_functions.TryGetValue(name, out nint f)) return f;
        var module = Module();
        byte[] utf8 = Encoding.UTF8.GetBytes(name + "\0");
        MakeCurrent();
        fixed (byte* n = utf8) Check(CuDriver.cuModuleGetFunction(&f, module.DangerousGetHandle(), n), $"cuModuleGetFunction({name})");
        _functions[name] = f;
        return f;
    }

    /// <summary>Compiles or loads the kernels now (otherwise done at the first kernel use).</summary>
    public KernelImage LoadKernels()
    {
        Module();
        return Kernels!;
    }

    private ModuleHandle Module()
    {
        lock (_moduleLock)
        {
            if (_module is not null) return _module;
            var image = KernelCompiler.Get(ComputeMajor, ComputeMinor, Log);
            MakeCurrent();
            nint module;
            fixed (byte* p = image.Image) Check(CuDriver.cuModuleLoadData(&module, p), $"cuModuleLoadData ({image.Target})");
            Kernels = image;
            if (image.FromCache) Log?.Invoke($"cuda: kernels for {image.Target} from cache {image.CachePath}");
            return _module = new ModuleHandle(Context, module);
        }
    }

    private int Attribute(int attribute)
    {
        int v;
        Check(CuDriver.cuDeviceGetAttribute(&v, attribute, Ordinal), "cuDeviceGetAttribute");
        return v;
    }

    private static void Check(int status, string call) => CudaStatus.ThrowIfFailed(status, call);

    /// <inheritdoc />
    public void Dispose()
    {
        _module?.Dispose();
        _context.Dispose();
    }
}
