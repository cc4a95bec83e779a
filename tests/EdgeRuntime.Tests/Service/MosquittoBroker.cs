using System.Diagnostics;

namespace EdgeRuntime.Tests.Service;

/// <summary>A real mosquitto broker on 127.0.0.1 and a free port, with a generated configuration, for end-to-end tests.</summary>
/// <remarks>Fails with a clear message when mosquitto is not installed (CI installs it in .ci/run). Can be killed
/// (SIGKILL) and restarted on the same port.</remarks>
internal sealed class MosquittoBroker : IDisposable
{
    private readonly TempDir _dir = TestPaths.NewTempDir();
    private readonly string _executable;
    private Process? _process;
    private readonly List<string> _log = [];
    private readonly Lock _gate = new();

    /// <param name="extraConfig">More configuration lines (e.g. a second, TLS, listener).</param>
    public MosquittoBroker(params string[] extraConfig)
    {
        _executable = FindExecutable();
        _extraConfig = extraConfig;
        ConfigPath = _dir.File("mosquitto.conf");
        WriteConfig(ServiceProcess.FreePort());
    }

    private readonly string[] _extraConfig;
    private bool _started;

    private void WriteConfig(int port)
    {
        Port = port;
        File.WriteAllText(ConfigPath, string.Join('\n', [
            $"listener {Port} 127.0.0.1",
            "allow_anonymous true",
            "persistence false",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            // Deep per-client queues: a test client may read many streamed chunks at once.
            "max_queued_messages 1000000",
            .. _extraConfig,
            ""]));
    }

    public int Port { get; private set; }

    public string ConfigPath { get; }

    public int Pid => _process?.Id ?? -1;

    public string Log
    {
        get { lock (_gate) return string.Join('\n', _log); }
    }

    public static string FindExecutable()
    {
        var dirs = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/bin"]);
        foreach (string dir in dirs)
        {
            string candidate = Path.Combine(dir, "mosquitto");
            if (File.Exists(candidate)) return candidate;
        }
        throw new InvalidOperationException(
            "mosquitto is not installed, and the broker tests need a real one: install it with 'apt-get install -y mosquitto mosquitto-clients' (.ci/run does this in CI)");
    }

    /// <summary>Starts the broker and waits until it logs that it runs; the first start moves to another port if the chosen
    /// one was taken meanwhile (restarts keep the port).</summary>
    public async Task StartAsync()
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await StartOnceAsync();
                _started = true;
                return;
            }
            catch (InvalidOperationException) when (!_started && attempt < 3 && Log.Contains("Address already in use", StringComparison.Ordinal))
            {
                Kill();
                WriteConfig(ServiceProcess.FreePort());
            }
        }
    }

    private async Task StartOnceAsync()
    {
        var psi = new ProcessStartInfo(_executable) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(ConfigPath);
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        DataReceivedEventHandler onLine = (_, e) =>
        {
            if (e.Data is null) return;
            lock (_gate) _log.Add(e.Data);
            if (e.Data.Contains(" running", StringComparison.Ordinal)) running.TrySetResult();
        };
        process.ErrorDataReceived += onLine;
        process.OutputDataReceived += onLine;
        process.Exited += (_, _) =>
        {
            try
            {
                process.WaitForExit(); // the last lines of its log arrive before this returns
            }
            catch (Exception ex) when (ex is InvalidOperationException or ObjectDisposedException)
            {
                // Killed and disposed by the test already.
            }
            running.TrySetException(new InvalidOperationException($"mosquitto exited during start:\n{Log}"));
        };
        Assert.True(process.Start(), "could not start mosquitto");
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        _process = process;
        try
        {
            await running.Task.WaitAsync(TimeSpan.FromSeconds(20));
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"mosquitto did not report running within 20 s:\n{Log}");
        }
    }

    /// <summary>SIGKILL: connections drop without a goodbye; nothing is persisted.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill();
            p.WaitForExit();
        }
        _process?.Dispose();
        _process = null;
    }

    public void Dispose()
    {
        Kill();
        _dir.Dispose();
    }
}
