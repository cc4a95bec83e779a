using System.Diagnostics;

namespace EdgeRuntime.Tests;

/// <summary>Runs a program to completion for a test (the real edgefw, edge-runtime, sample clients, scripts): stdout and
/// stderr captured, and past the timeout the whole process tree killed and the test failed with what it printed.</summary>
/// <remarks>Stateless; safe from any test.</remarks>
internal static class ChildProcess
{
    /// <summary>A start description for <paramref name="file"/> with <paramref name="args"/>, output redirected.</summary>
    public static ProcessStartInfo Describe(string file, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args) psi.ArgumentList.Add(a);
        return psi;
    }

    /// <summary>Runs <paramref name="psi"/> (its output must be redirected, as <see cref="Describe"/> does) and waits.</summary>
    public static async Task<(int Code, string Stdout, string Stderr)> RunAsync(ProcessStartInfo psi, TimeSpan timeout)
    {
        using var p = Process.Start(psi) ?? throw new Xunit.Sdk.XunitException($"{psi.FileName} did not start");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await p.WaitForExitAsync(cancel.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new Xunit.Sdk.XunitException(
                $"{psi.FileName} {string.Join(" ", psi.ArgumentList)} did not exit within {timeout}; stderr: {await stderr.ConfigureAwait(false)}");
        }
        return (p.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
    }

    /// <summary>Blocking <see cref="RunAsync"/>, for synchronous tests.</summary>
    public static (int Code, string Stdout, string Stderr) Run(ProcessStartInfo psi, TimeSpan timeout) =>
        Task.Run(() => RunAsync(psi, timeout)).GetAwaiter().GetResult();

    /// <summary>The first <paramref name="name"/> on <c>PATH</c>, or null.</summary>
    public static string? FindOnPath(string name)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }
}
