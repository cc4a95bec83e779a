using EdgeRuntime.Cuda.Models;
using EdgeRuntime.Cuda.Runtime;
using EdgeRuntime.Models;
using EdgeRuntime.Models.Sessions;

namespace EdgeRuntime.Cuda;

/// <summary>Where models run: <c>cpu</c>, <c>cuda</c>, or <c>auto</c> (CUDA when a driver and a device are present, else
/// the CPU). The value of the <c>Runtime:Device</c> setting and of the tools' <c>--device</c> option.</summary>
public enum ComputeDevice
{
    /// <summary>The CPU kernels (the default; nothing CUDA is loaded).</summary>
    Cpu,

    /// <summary>The GPU; fails when there is no driver or device.</summary>
    Cuda,

    /// <summary>The GPU when present, else the CPU with one log line.</summary>
    Auto,
}

/// <summary>Parses <see cref="ComputeDevice"/> values and loads a model on the chosen device.</summary>
/// <remarks>Stateless; safe from any thread.</remarks>
public static class DeviceSelection
{
    /// <summary>The accepted spellings.</summary>
    public const string Values = "cpu | cuda | auto";

    /// <summary>Parses <c>cpu</c>, <c>cuda</c> or <c>auto</c> (case-insensitive); false otherwise.</summary>
    public static bool TryParse(string? text, out ComputeDevice device)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case "cpu": device = ComputeDevice.Cpu; return true;
            case "cuda" or "gpu": device = ComputeDevice.Cuda; return true;
            case "auto": device = ComputeDevice.Auto; return true;
            default: device = ComputeDevice.Cpu; return false;
        }
    }

    /// <summary>Loads the model at <paramref name="path"/> on <paramref name="device"/>.</summary>
    /// <param name="path">Checkpoint directory or GGUF file.</param>
    /// <param name="options">CPU options (threads, prefill block); used by the CPU path.</param>
    /// <param name="device">Where to run.</param>
    /// <param name="log">Receives one line when <c>auto</c> falls back to the CPU, and CUDA diagnostics (kernel compilation).</param>
    /// <param name="cudaOptions">Options of the CUDA backend.</param>
    /// <exception cref="CudaUnavailableException"><paramref name="device"/> is <c>cuda</c> and there is no driver or device.</exception>
    /// <exception cref="EdgeRuntime.Models.Formats.ModelLoadException">Malformed or inconsistent files.</exception>
    public static IModel Load(string path, ModelOptions? options, ComputeDevice device, Action<string>? log = null, CudaModelOptions? cudaOptions = null)
    {
        if (device == ComputeDevice.Cpu) return ModelLoader.Load(path, options);
        if (!CudaDevice.TryOpen(0, out var gpu, out string reason, log))
        {
            if (device == ComputeDevice.Cuda) throw new CudaUnavailableException(reason);
            log?.Invoke($"device: auto: {reason}; running on the CPU");
            return ModelLoader.Load(path, options);
        }
        var opened = gpu!;
        try
        {
            log?.Invoke($"device: cuda: {opened.Description}");
            return ModelLoader.Load(path, options, new CudaModelFactory(opened, cudaOptions, ownsDevice: true));
        }
        catch
        {
            opened.Dispose();
            throw;
        }
    }
}
