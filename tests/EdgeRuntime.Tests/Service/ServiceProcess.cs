using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace EdgeRuntime.Tests.Service;

/// <summary>Runs the built <c>edge-runtime.dll</c> (beside the tests) as a child process and watches its output.</summary>
/// <remarks>Waiting is event-driven: <see cref="WaitForOutputAsync"/> completes when a matching line is printed, or fails
/// when the process exits or the timeout passes; never a fixed sleep.</remarks>
internal sealed partial class ServiceProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Done)> _waiters = [];
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();

    private ServiceProcess(Process process) => _process = process;

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Completes with the exit code.</summary>
    public Task<int> Exited => _exited.Task;

    /// <summary>Everything printed so far (stdout and stderr interleaved as received).</summary>
    public string Output
    {
        get { lock (_gate) return string.Join('\n', _lines); }
    }

    public int CountLines(Func<string, bool> match)
    {
        lock (_gate) return _lines.Count(match);
    }

    /// <summary>Starts <c>dotnet edge-runtime.dll</c> in <paramref name="workingDirectory"/> (its content root; default: the
    /// test binaries' folder, where no bundled default model is found).</summary>
    public static ServiceProcess Start(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "edge-runtime.dll");
        Assert.True(File.Exists(dll), $"edge-runtime.dll not found at {dll}");
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? AppContext.BaseDirectory,
        };
        psi.ArgumentList.Add(dll);
        foreach (string a in args) psi.ArgumentList.Add(a);
        foreach (string key in new[] { "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "STATE_DIRECTORY", "CONFIGURATION_DIRECTORY" }) psi.Environment.Remove(key);
        foreach (string key in psi.Environment.Keys.Where(k => k.StartsWith("EDGE_", StringComparison.Ordinal)).ToList()) psi.Environment.Remove(key);
        psi.Environment["DOTNET_ENVIRONMENT"] = "Production";
        if (environment is not null) foreach (var (k, v) in environment) psi.Environment[k] = v;

        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var service = new ServiceProcess(process);
        process.OutputDataReceived += (_, e) => service.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => service.OnLine(e.Data);
        process.Exited += (_, _) => service.OnExited();
        Assert.True(process.Start(), "could not start dotnet edge-runtime.dll");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return service;
    }

    /// <summary>Waits for a printed line that matches.</summary>
    public Task<string> WaitForOutputAsync(Func<string, bool> match, TimeSpan timeout, string what)
    {
        TaskCompletionSource<string> done;
        lock (_gate)
        {
            foreach (string line in _lines) if (match(line)) return Task.FromResult(line);
            done = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((match, done));
            if (_exited.Task.IsCompleted) done.TrySetException(new InvalidOperationException($"edge-runtime exited before printing {what}:\n{string.Join('\n', _lines)}"));
        }
        return WithTimeout(done.Task, timeout, what);
    }

    /// <summary>Waits until the service announces it serves <paramref name="nodeId"/>.</summary>
    public Task WaitUntilServingAsync(string nodeId, TimeSpan? timeout = null) =>
        WaitForOutputAsync(l => l.Contains($"Serving on edge/{nodeId}:", StringComparison.Ordinal), timeout ?? TimeSpan.FromSeconds(60), "its 'Serving on' line");

    /// <summary>SIGKILL: no shutdown, no DISCONNECT (the broker publishes the Last Will).</summary>
    public void Kill()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    /// <summary>SIGTERM and wait for a graceful exit; returns the exit code.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        if (!_process.HasExited) Assert.Equal(0, SendSignal(_process.Id, 15));
        return await WithTimeout(_exited.Task, timeout, "a graceful exit after SIGTERM").ConfigureAwait(false);
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        _process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null) return;
        lock (_gate)
        {
            _lines.Add(line);
            for (int i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Match(line))
                {
                    _waiters[i].Done.TrySetResult(line);
                    _waiters.RemoveAt(i);
                }
            }
        }
    }

    private void OnExited()
    {
        int code;
        try
        {
            // Let the output readers finish so the last lines are in the log.
            _process.WaitForExit();
            code = _process.ExitCode;
        }
        catch (Exception ex) when (ex is InvalidOperationException or ObjectDisposedException)
        {
            code = -1; // Disposed by the test already.
        }
        lock (_gate)
        {
            foreach (var (_, done) in _waiters) done.TrySetException(new InvalidOperationException($"edge-runtime exited ({code}):\n{string.Join('\n', _lines)}"));
            _waiters.Clear();
        }
        _exited.TrySetResult(code);
    }

    private async Task<T> WithTimeout<T>(Task<T> task, TimeSpan timeout, string what)
    {
        try
        {
            return await task.WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"timed out after {timeout.TotalSeconds} s waiting for {what}; edge-runtime output:\n{Output}");
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SendSignal(int pid, int signal);

    /// <summary>Starts a service on its embedded broker at a free port and waits until it serves; picks another port if
    /// the chosen one was taken in the meantime (another test process may grab it between the check and the bind).</summary>
    public static async Task<(ServiceProcess Service, int Port)> StartEmbeddedAsync(string nodeId, Func<int, IEnumerable<string>> args,
        IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        for (int attempt = 1; ; attempt++)
        {
            int port = FreePort();
            var service = Start([.. args(port), $"--Mqtt:EmbeddedPort={port}"], environment, workingDirectory);
            try
            {
                await service.WaitUntilServingAsync(nodeId);
                return (service, port);
            }
            catch (InvalidOperationException) when (attempt < 3 && service.Output.Contains("cannot listen on", StringComparison.Ordinal))
            {
                service.Dispose();
            }
        }
    }

    /// <summary>A TCP port on 127.0.0.1 that was free a moment ago.</summary>
    public static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>Sends a POSIX signal to a process this test started.</summary>
    public static int Signal(int pid, int signal) => SendSignal(pid, signal);

    public static string Describe(IEnumerable<string> lines)
    {
        var text = new StringBuilder();
        foreach (string line in lines) text.AppendLine(line);
        return text.ToString();
    }
}
