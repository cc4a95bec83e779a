using System.Runtime.InteropServices;

namespace EdgeRuntime.Cuda.Interop;

/// <summary>A CUDA driver or NVRTC call failed.</summary>
/// <remarks>The message names the call, the status name and the driver's text. Immutable; safe to share.</remarks>
public sealed class CudaException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CudaException(string message, int status = 0) : base(message) => Status = status;

    /// <summary>The <c>CUresult</c> or <c>nvrtcResult</c> (0 when not from a status code).</summary>
    public int Status { get; }
}

/// <summary>The one place where native status codes become exceptions.</summary>
/// <remarks>Stateless; safe from any thread.</remarks>
internal static unsafe class CudaStatus
{
    /// <summary>Throws a <see cref="CudaException"/> naming <paramref name="call"/> unless <paramref name="status"/> is 0 (CUDA_SUCCESS).</summary>
    public static void ThrowIfFailed(int status, string call)
    {
        if (status != 0) Throw(status, call);
    }

    private static void Throw(int status, string call)
    {
        string name = "CUDA_ERROR_" + status, text = "";
        byte* p = null;
        // The strings are static in the driver: nothing to free.
        if (CuDriver.cuGetErrorName(status, &p) == 0 && p != null) name = Marshal.PtrToStringUTF8((nint)p) ?? name;
        if (CuDriver.cuGetErrorString(status, &p) == 0 && p != null) text = Marshal.PtrToStringUTF8((nint)p) ?? "";
        throw new CudaException($"cuda: {call} failed with {name} ({status}){(text.Length > 0 ? ": " + text : "")}", status);
    }
}
