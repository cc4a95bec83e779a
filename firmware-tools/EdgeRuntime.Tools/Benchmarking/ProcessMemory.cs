using System.Globalization;

namespace EdgeRuntime.Tools.Benchmarking;

/// <summary>This process's memory as the kernel counts it.</summary>
/// <remarks>Stateless; safe from any thread.</remarks>
internal static class ProcessMemory
{
    /// <summary>Peak resident set size in bytes: <c>VmHWM</c> of <c>/proc/self/status</c> (file-backed weight pages that were
    /// touched count too), or the runtime's peak working set where that file does not exist.</summary>
    public static long PeakRss()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return System.Diagnostics.Process.GetCurrentProcess().PeakWorkingSet64;
    }
}
