using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using EdgeRuntime.Cuda.Interop;

namespace EdgeRuntime.Cuda.Runtime;

/// <summary>A compiled kernel image: a cubin for the device's own architecture, or PTX the driver finishes.</summary>
/// <param name="Image">The bytes to pass to <c>cuModuleLoadData</c> (PTX is NUL-terminated).</param>
/// <param name="Target">E.g. <c>sm_90</c> (cubin) or <c>compute_80</c> (PTX).</param>
/// <param name="CachePath">The cache file the image came from or went to; null when the cache was not writable.</param>
/// <param name="FromCache">Whether it was read from the cache (no compilation).</param>
/// <param name="CompileMilliseconds">NVRTC time, 0 on a cache hit.</param>
public sealed record KernelImage(byte[] Image, string Target, string? CachePath, bool FromCache, double CompileMilliseconds);

/// <summary>Compiles the embedded CUDA C kernels with NVRTC for one compute capability, with a disk cache keyed by the
/// architecture and the SHA-256 of the source.</summary>
/// <remarks>
/// The source is <c>Kernels/common.cuh</c> followed by every <c>Kernels/*.cu</c> in name order (one translation unit).
/// Cache folder: <c>$EDGE_RUNTIME_CUDA_CACHE</c>, else <c>$XDG_CACHE_HOME/edge-runtime/cuda</c>, else
/// <c>~/.cache/edge-runtime/cuda</c>; files <c>kernels-sm_XX-&lt;hash&gt;.cubin</c> (or <c>.ptx</c>), written atomically.
/// A cache hit needs no NVRTC at all. Stateless; safe from any thread (concurrent writers race benignly on one rename).
/// </remarks>
public static unsafe class KernelCompiler
{
    private const string ResourcePrefix = "EdgeRuntime.Cuda.Kernels.";

    private static readonly Lazy<string> s_source = new(ReadSource);

    /// <summary>The whole kernel source as NVRTC compiles it.</summary>
    public static string Source => s_source.Value;

    /// <summary>First 16 hex digits of the SHA-256 of <see cref="Source"/>.</summary>
    public static string SourceHash => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Source)))[..16];

    /// <summary>The cache folder (see remarks).</summary>
    public static string CacheDirectory
    {
        get
        {
            string? dir = Environment.GetEnvironmentVariable("EDGE_RUNTIME_CUDA_CACHE");
            if (!string.IsNullOrEmpty(dir)) return dir;
            string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            if (!string.IsNullOrEmpty(xdg)) return Path.Combine(xdg, "edge-runtime", "cuda");
            string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            return string.IsNullOrEmpty(home)
                ? Path.Combine(Path.GetTempPath(), "edge-runtime-cuda")
                : Path.Combine(home, ".cache", "edge-runtime", "cuda");
        }
    }

    /// <summary>The image for compute capability <paramref name="major"/>.<paramref name="minor"/>: from the cache, else compiled and cached.</summary>
    /// <exception cref="CudaException">NVRTC is missing or the source does not compile (the message holds the log).</exception>
    public static KernelImage Get(int major, int minor, Action<string>? log = null)
    {
        string arch = $"sm_{major}{minor}", hash = SourceHash, dir = CacheDirectory;
        string cubinPath = Path.Combine(dir, $"kernels-{arch}-{hash}.cubin"), ptxPath = Path.Combine(dir, $"kernels-{arch}-{hash}.ptx");
        foreach (var (path, target) in new[] { (cubinPath, arch), (ptxPath, "ptx") })
        {
            try
            {
                if (File.Exists(path)) return new KernelImage(File.ReadAllBytes(path), target, path, FromCache: true, 0);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }

        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        var (image, compiledTarget, isPtx) = Compile(Source, major, minor);
        double ms = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        string? written = TryWrite(isPtx ? ptxPath : cubinPath, image);
        log?.Invoke($"cuda: compiled kernels for {compiledTarget} with NVRTC in {ms:F0} ms" + (written is null ? " (cache not writable)" : $", cached at {written}"));
        return new KernelImage(image, compiledTarget, written, FromCache: false, ms);
    }

    /// <summary>Compiles <paramref name="source"/> for the device: a cubin for <c>sm_XX</c> when NVRTC knows the
    /// architecture, else PTX for the newest <c>compute_YY</c> it knows that is not newer than the device.</summary>
    /// <exception cref="CudaException">NVRTC is missing or the source does not compile.</exception>
    public static (byte[] Image, string Target, bool IsPtx) Compile(string source, int major, int minor)
    {
        var api = Nvrtc.TryLoad(out string reason) ?? throw new CudaException("cuda: " + reason);
        int cc = major * 10 + minor;
        int target = cc;
        bool ptx = false;
        if (api.GetNumSupportedArchs != null && api.GetSupportedArchs != null)
        {
            int n;
            api.Check(api.GetNumSupportedArchs(&n), "nvrtcGetNumSupportedArchs");
            var archs = new int[n];
            fixed (int* p = archs) api.Check(api.GetSupportedArchs(p), "nvrtcGetSupportedArchs");
            if (Array.IndexOf(archs, cc) < 0)
            {
                ptx = true;
                target = archs.Where(a => a <= cc).DefaultIfEmpty(archs.Min()).Max();
            }
        }
        string targetName = ptx ? $"compute_{target}" : $"sm_{target}";
        string[] options = [$"--gpu-architecture={targetName}", "--std=c++17"];

        nint program;
        byte[] src = NulTerminated(source), name = NulTerminated("edge_runtime_kernels.cu");
        fixed (byte* s = src, nm = name)
            api.Check(api.CreateProgram(&program, s, nm, 0, null, null), "nvrtcCreateProgram");
        try
        {
            var optionBytes = options.Select(NulTerminated).ToArray();
            var handles = optionBytes.Select(b => GCHandle.Alloc(b, GCHandleType.Pinned)).ToArray();
            int status;
            try
            {
                var pointers = stackalloc byte*[handles.Length];
                for (int i = 0; i < handles.Length; i++) pointers[i] = (byte*)handles[i].AddrOfPinnedObject();
                status = api.CompileProgram(program, handles.Length, pointers);
            }
            finally
            {
                foreach (var h in handles) h.Free();
            }
            if (status != 0)
            {
                nuint logSize;
                api.GetProgramLogSize(program, &logSize);
                var log = new byte[(int)logSize];
                fixed (byte* l = log) api.GetProgramLog(program, l);
                string text = Encoding.UTF8.GetString(log).TrimEnd('\0', '\n');
                throw new CudaException($"nvrtc: the kernels do not compile for {targetName} (NVRTC {api.Major}.{api.Minor}, {api.Path}):\n{text}", status);
            }
            nuint size;
            byte[] image;
            if (ptx)
            {
                api.Check(api.GetPtxSize(program, &size), "nvrtcGetPTXSize");
                image = new byte[(int)size];
                fixed (byte* p = image) api.Check(api.GetPtx(program, p), "nvrtcGetPTX");
            }
            else
            {
                api.Check(api.GetCubinSize(program, &size), "nvrtcGetCUBINSize");
                image = new byte[(int)size];
                fixed (byte* p = image) api.Check(api.GetCubin(program, p), "nvrtcGetCUBIN");
            }
            return (image, targetName, ptx);
        }
        finally
        {
            api.DestroyProgram(&program);
        }
    }

    private static string? TryWrite(string path, byte[] image)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            string temp = $"{path}.{Environment.ProcessId}.tmp";
            File.WriteAllBytes(temp, image);
            File.Move(temp, path, overwrite: true);
            return path;
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    private static byte[] NulTerminated(string s)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(s) + 1];
        Encoding.UTF8.GetBytes(s, bytes);
        return bytes;
    }

    private static string ReadSource()
    {
        var assembly = typeof(KernelCompiler).Assembly;
        var names = assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)).ToList();
        var ordered = names.Where(n => n.EndsWith(".cuh", StringComparison.Ordinal)).Order(StringComparer.Ordinal)
            .Concat(names.Where(n => n.EndsWith(".cu", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        var sb = new StringBuilder();
        foreach (string n in ordered)
        {
            using var stream = assembly.GetManifestResourceStream(n)!;
            using var reader = new StreamReader(stream, Encoding.UTF8);
            sb.Append("// ---- ").Append(n.AsSpan(ResourcePrefix.Length)).Append('\n');
            sb.Append(reader.ReadToEnd()).Append('\n');
        }
        return sb.ToString();
    }
}
