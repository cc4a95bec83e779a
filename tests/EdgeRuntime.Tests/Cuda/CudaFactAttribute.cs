using EdgeRuntime.Cuda.Runtime;

namespace EdgeRuntime.Tests.Cuda;

/// <summary>Why CUDA tests can or cannot run here, probed once per test run.</summary>
internal static class CudaAvailability
{
    private static readonly Lazy<string?> s_device = new(() =>
        CudaDevice.TryOpen(0, out var device, out string reason) ? Close(device!) : reason);

    private static readonly Lazy<string?> s_nvrtc = new(() =>
        EdgeRuntime.Cuda.Interop.Nvrtc.TryLoad(out string reason) is null ? reason : null);

    /// <summary>Null when a GPU can be used, else the reason it cannot.</summary>
    public static string? DeviceMissing => s_device.Value;

    /// <summary>Null when NVRTC loads, else the reason it does not.</summary>
    public static string? NvrtcMissing => s_nvrtc.Value;

    private static string? Close(CudaDevice device)
    {
        device.Dispose();
        return null;
    }
}

/// <summary>A test that needs an NVIDIA GPU and driver: skipped, with the reason in the skip text, where there is none (CI).</summary>
public sealed class CudaFactAttribute : FactAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when no device can be opened.</summary>
    public CudaFactAttribute()
    {
        if (CudaAvailability.DeviceMissing is { } reason) Skip = "needs a CUDA GPU: " + reason;
    }
}

/// <summary>A CUDA theory (see <see cref="CudaFactAttribute"/>).</summary>
public sealed class CudaTheoryAttribute : TheoryAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when no device can be opened.</summary>
    public CudaTheoryAttribute()
    {
        if (CudaAvailability.DeviceMissing is { } reason) Skip = "needs a CUDA GPU: " + reason;
    }
}

/// <summary>A test of the behaviour without a GPU (the CPU fallback): skipped on machines that have one.</summary>
public sealed class NoCudaFactAttribute : FactAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when a device can be opened.</summary>
    public NoCudaFactAttribute()
    {
        if (CudaAvailability.DeviceMissing is null) Skip = "this machine has a CUDA GPU; the no-driver path cannot be observed";
    }
}

/// <summary>A test that needs NVRTC (compiling kernels needs no GPU): skipped, with the reason, where NVRTC is absent.</summary>
public sealed class NvrtcFactAttribute : FactAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when NVRTC cannot be loaded.</summary>
    public NvrtcFactAttribute()
    {
        if (CudaAvailability.NvrtcMissing is { } reason) Skip = "needs NVRTC: " + reason;
    }
}

/// <summary>An NVRTC theory (see <see cref="NvrtcFactAttribute"/>).</summary>
public sealed class NvrtcTheoryAttribute : TheoryAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when NVRTC cannot be loaded.</summary>
    public NvrtcTheoryAttribute()
    {
        if (CudaAvailability.NvrtcMissing is { } reason) Skip = "needs NVRTC: " + reason;
    }
}
