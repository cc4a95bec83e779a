using System.Runtime.InteropServices;

namespace EdgeRuntime.Cuda.Interop;

/// <summary>NVRTC, CUDA's runtime compiler, bound through function pointers because its file name carries the toolkit
/// version (<c>libnvrtc.so.13</c>, <c>.12</c>, <c>.11.2</c>): the first candidate that loads wins.</summary>
/// <remarks>
/// Candidates, in order: <c>$EDGE_RUNTIME_NVRTC</c> (a file), the loader's search path (<c>libnvrtc.so</c>, then versioned
/// names), then the same names in <c>/usr/local/cuda*/lib64</c> and <c>/usr/local/cuda*/targets/*/lib</c> (toolkits that
/// are not on the search path). Loaded only when a kernel must be compiled (a disk-cache miss). Thread-safe.
/// </remarks>
internal static unsafe class Nvrtc
{
    private static readonly string[] s_names =
        ["libnvrtc.so", "libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so.11.1", "libnvrtc.so.11.0"];

    private static readonly Lock s_lock = new();
    private static Api? s_api;
    private static string? s_failure;

    /// <summary>The loaded functions.</summary>
    public sealed class Api
    {
        public required string Path { get; init; }
        public required int Major { get; init; }
        public required int Minor { get; init; }
        public delegate* unmanaged<int, byte*> GetErrorString;
        public delegate* unmanaged<nint*, byte*, byte*, int, byte**, byte**, int> CreateProgram;
        public delegate* unmanaged<nint, int, byte**, int> CompileProgram;
        public delegate* unmanaged<nint, nuint*, int> GetProgramLogSize;
        public delegate* unmanaged<nint, byte*, int> GetProgramLog;
        public delegate* unmanaged<nint, nuint*, int> GetCubinSize;
        public delegate* unmanaged<nint, byte*, int> GetCubin;
        public delegate* unmanaged<nint, nuint*, int> GetPtxSize;
        public delegate* unmanaged<nint, byte*, int> GetPtx;
        public delegate* unmanaged<nint*, int> DestroyProgram;
        public delegate* unmanaged<int*, int> GetNumSupportedArchs;   // null before NVRTC 11.2
        public delegate* unmanaged<int*, int> GetSupportedArchs;

        /// <summary>Throws a <see cref="CudaException"/> unless <paramref name="status"/> is NVRTC_SUCCESS.</summary>
        public void Check(int status, string call)
        {
            if (status == 0) return;
            string text = Marshal.PtrToStringUTF8((nint)GetErrorString(status)) ?? "";
            throw new CudaException($"nvrtc: {call} failed with {text} ({status})", status);
        }
    }

    /// <summary>Loads NVRTC (once); null with a reason when no candidate loads.</summary>
    public static Api? TryLoad(out string reason)
    {
        lock (s_lock)
        {
            if (s_api is null && s_failure is null) s_api = Load(out s_failure);
            reason = s_failure ?? "";
            return s_api;
        }
    }

    private static Api? Load(out string? failure)
    {
        var tried = new List<string>();
        foreach (string candidate in Candidates())
        {
            tried.Add(candidate);
            if (!NativeLibrary.TryLoad(candidate, out nint handle)) continue;
            if (!NativeLibrary.TryGetExport(handle, "nvrtcVersion", out nint version)) continue;
            int major, minor;
            ((delegate* unmanaged<int*, int*, int>)version)(&major, &minor);
            var api = new Api
            {
                Path = candidate,
                Major = major,
                Minor = minor,
                GetErrorString = (delegate* unmanaged<int, byte*>)Export(handle, "nvrtcGetErrorString"),
                CreateProgram = (delegate* unmanaged<nint*, byte*, byte*, int, byte**, byte**, int>)Export(handle, "nvrtcCreateProgram"),
                CompileProgram = (delegate* unmanaged<nint, int, byte**, int>)Export(handle, "nvrtcCompileProgram"),
                GetProgramLogSize = (delegate* unmanaged<nint, nuint*, int>)Export(handle, "nvrtcGetProgramLogSize"),
                GetProgramLog = (delegate* unmanaged<nint, byte*, int>)Export(handle, "nvrtcGetProgramLog"),
                GetCubinSize = (delegate* unmanaged<nint, nuint*, int>)Export(handle, "nvrtcGetCUBINSize"),
                GetCubin = (delegate* unmanaged<nint, byte*, int>)Export(handle, "nvrtcGetCUBIN"),
                GetPtxSize = (delegate* unmanaged<nint, nuint*, int>)Export(handle, "nvrtcGetPTXSize"),
                GetPtx = (delegate* unmanaged<nint, byte*, int>)Export(handle, "nvrtcGetPTX"),
                DestroyProgram = (delegate* unmanaged<nint*, int>)Export(handle, "nvrtcDestroyProgram"),
                GetNumSupportedArchs = NativeLibrary.TryGetExport(handle, "nvrtcGetNumSupportedArchs", out nint n) ? (delegate* unmanaged<int*, int>)n : null,
                GetSupportedArchs = NativeLibrary.TryGetExport(handle, "nvrtcGetSupportedArchs", out nint a) ? (delegate* unmanaged<int*, int>)a : null,
            };
            failure = null;
            return api;
        }
        failure = $"no NVRTC: none of {string.Join(", ", tried)} could be loaded (install the CUDA toolkit's libnvrtc, or set EDGE_RUNTIME_NVRTC to its path)";
        return null;
    }

    private static nint Export(nint handle, string name) =>
        NativeLibrary.TryGetExport(handle, name, out nint p) ? p : throw new CudaException($"nvrtc: the library exports no {name}");

    private static IEnumerable<string> Candidates()
    {
        string? env = Environment.GetEnvironmentVariable("EDGE_RUNTIME_NVRTC");
        if (!string.IsNullOrEmpty(env)) yield return env;
        foreach (string name in s_names) yield return name;
        var dirs = new List<string>();
        try
        {
            foreach (string root in Directory.EnumerateDirectories("/usr/local", "cuda*").Order(StringComparer.Ordinal))
            {
                dirs.Add(Path.Combine(root, "lib64"));
                string targets = Path.Combine(root, "targets");
                if (Directory.Exists(targets)) dirs.AddRange(Directory.EnumerateDirectories(targets).Select(t => Path.Combine(t, "lib")));
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        foreach (string dir in dirs)
        {
            if (!Directory.Exists(dir)) continue;
            foreach (string name in s_names)
            {
                string path = Path.Combine(dir, name);
                if (File.Exists(path)) yield return path;
            }
        }
    }
}
