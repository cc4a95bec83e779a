using System.Runtime.InteropServices;

namespace EdgeRuntime.Cuda.Interop;

/// <summary>Loads <c>libcuda.so.1</c> on demand and initialises the driver once.</summary>
/// <remarks>
/// Nothing here runs until the CUDA backend is selected: the <see cref="CuDriver"/> imports bind lazily, and this type
/// checks with <see cref="NativeLibrary.TryLoad(string, out nint)"/> that the library exists before the first call, so a
/// machine without the driver gets a message instead of a <see cref="DllNotFoundException"/>. Thread-safe.
/// </remarks>
internal static unsafe class CudaDriver
{
    private static readonly Lock s_lock = new();
    private static nint s_handle;
    private static string? s_failure;
    private static bool s_initialised;
    private static delegate* unmanaged<float*, nint, nint, int> s_elapsedTime;

    /// <summary>Loads the library and calls <c>cuInit</c>; false with a reason when there is no usable driver.</summary>
    public static bool TryInitialise(out string reason)
    {
        lock (s_lock)
        {
            if (!s_initialised && s_failure is null)
            {
                if (!NativeLibrary.TryLoad(CuDriver.Library, out s_handle))
                {
                    s_failure = $"no CUDA driver: {CuDriver.Library} could not be loaded (install the NVIDIA driver, or use --device cpu)";
                }
                else
                {
                    int status = CuDriver.cuInit(0);
                    if (status != 0) s_failure = $"no CUDA device: cuInit failed with status {status} (100 = no device, 999 = unknown; check nvidia-smi)";
                    else
                    {
                        s_initialised = true;
                        if (NativeLibrary.TryGetExport(s_handle, "cuEventElapsedTime_v2", out nint p) || NativeLibrary.TryGetExport(s_handle, "cuEventElapsedTime", out p))
                            s_elapsedTime = (delegate* unmanaged<float*, nint, nint, int>)p;
                    }
                }
            }
            reason = s_failure ?? "";
            return s_initialised;
        }
    }

    /// <summary>Milliseconds between two recorded events (<c>cuEventElapsedTime</c>, the <c>_v2</c> symbol where exported).</summary>
    public static float ElapsedMilliseconds(nint start, nint end)
    {
        if (s_elapsedTime == null) throw new CudaException("cuda: the driver exports no cuEventElapsedTime");
        float ms;
        CudaStatus.ThrowIfFailed(s_elapsedTime(&ms, start, end), "cuEventElapsedTime");
        return ms;
    }
}
