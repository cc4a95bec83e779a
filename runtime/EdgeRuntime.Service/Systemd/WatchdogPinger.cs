using System.Globalization;
using EdgeRuntime.Service.Inference;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EdgeRuntime.Service.Systemd;

/// <summary>Sends <c>WATCHDOG=1</c> every <c>WATCHDOG_USEC/2</c>, but only while the inference workers are healthy.</summary>
/// <remarks>
/// Idle unless systemd started the service with <c>WatchdogSec=</c> (it sets <c>WATCHDOG_USEC</c>, and <c>WATCHDOG_PID</c>
/// when it must be this process). When the workers stall or die the pings stop and systemd restarts the service.
/// Run by the host on one task; stateless otherwise.
/// </remarks>
public sealed partial class WatchdogPinger : BackgroundService
{
    private readonly SdNotify _notify;
    private readonly WorkerHealth _health;
    private readonly ILogger<WatchdogPinger> _logger;

    /// <summary>Created by the host.</summary>
    public WatchdogPinger(SdNotify notify, WorkerHealth health, ILogger<WatchdogPinger> logger)
    {
        _notify = notify;
        _health = health;
        _logger = logger;
    }

    /// <summary>The ping interval systemd asks for (half of <c>WATCHDOG_USEC</c>), or null when there is no watchdog for this process.</summary>
    public static TimeSpan? Interval()
    {
        string? usec = Environment.GetEnvironmentVariable("WATCHDOG_USEC");
        string? pid = Environment.GetEnvironmentVariable("WATCHDOG_PID");
        if (!string.IsNullOrEmpty(pid) && (!int.TryParse(pid, NumberStyles.None, CultureInfo.InvariantCulture, out int p) || p != Environment.ProcessId)) return null;
        if (!ulong.TryParse(usec, NumberStyles.None, CultureInfo.InvariantCulture, out ulong micros) || micros == 0) return null;
        return TimeSpan.FromMicroseconds(micros / 2.0);
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_notify.IsEnabled || Interval() is not TimeSpan interval) return;
        LogEnabled(_logger, interval.TotalMilliseconds);
        using var timer = new PeriodicTimer(interval);
        bool healthy = true;
        try
        {
            do
            {
                if (_health.IsHealthy(out string? reason))
                {
                    _notify.Send("WATCHDOG=1");
                    if (!healthy) LogRecovered(_logger);
                    healthy = true;
                }
                else if (healthy)
                {
                    healthy = false;
                    LogUnhealthy(_logger, reason!);
                    _notify.Send("STATUS=unhealthy: " + reason);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    [LoggerMessage(60, LogLevel.Information, "systemd watchdog: pinging every {Milliseconds:F0} ms while healthy")]
    private static partial void LogEnabled(ILogger logger, double milliseconds);

    [LoggerMessage(61, LogLevel.Error, "systemd watchdog: not pinging, the service is unhealthy: {Reason}")]
    private static partial void LogUnhealthy(ILogger logger, string reason);

    [LoggerMessage(62, LogLevel.Information, "systemd watchdog: healthy again, pinging")]
    private static partial void LogRecovered(ILogger logger);
}
