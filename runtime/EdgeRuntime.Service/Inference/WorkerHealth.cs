using System.Diagnostics;
using EdgeRuntime.Service.Hosting;
using EdgeRuntime.Service.Options;
using Microsoft.Extensions.Options;

namespace EdgeRuntime.Service.Inference;

/// <summary>Whether the inference workers are healthy: the model loaded (or still loading), every worker running, none stalled.</summary>
/// <remarks>
/// A worker reports progress per token (per prefill chunk, per infer block); one that is busy without progress for
/// <c>Edge:StallSeconds</c> makes the service unhealthy, and the watchdog pinger then stops pinging so systemd restarts
/// it. Thread-safe (lock-free counters).
/// </remarks>
public sealed class WorkerHealth
{
    private readonly ModelHost _model;
    private readonly long _stallTicks;
    private long[] _busySince = [];
    private long[] _lastProgress = [];
    private int _running;
    private int _expected;
    private volatile bool _faulted;

    /// <summary>Creates the tracker.</summary>
    public WorkerHealth(ModelHost model, IOptions<NodeOptions> node)
    {
        _model = model;
        _stallTicks = (long)(node.Value.StallSeconds * (double)Stopwatch.Frequency);
    }

    /// <summary>Sets the number of workers about to start.</summary>
    public void Expect(int workers)
    {
        _busySince = new long[workers];
        _lastProgress = new long[workers];
        _expected = workers;
    }

    /// <summary>A worker loop started.</summary>
    public void Started() => Interlocked.Increment(ref _running);

    /// <summary>A worker loop ended (normally at shutdown).</summary>
    public void Stopped() => Interlocked.Decrement(ref _running);

    /// <summary>A worker loop died on an unexpected exception.</summary>
    public void Faulted() => _faulted = true;

    /// <summary>Worker <paramref name="index"/> took a request.</summary>
    public void Busy(int index)
    {
        long now = Stopwatch.GetTimestamp();
        Volatile.Write(ref _lastProgress[index], now);
        Volatile.Write(ref _busySince[index], now);
    }

    /// <summary>Worker <paramref name="index"/> made progress.</summary>
    public void Progress(int index) => Volatile.Write(ref _lastProgress[index], Stopwatch.GetTimestamp());

    /// <summary>Worker <paramref name="index"/> is idle.</summary>
    public void Idle(int index) => Volatile.Write(ref _busySince[index], 0);

    /// <summary>Whether the service may tell the watchdog it is alive; <paramref name="reason"/> says why not.</summary>
    public bool IsHealthy(out string? reason)
    {
        reason = null;
        if (_faulted) reason = "an inference worker failed";
        else if (_model.Ready.IsFaulted || _model.Ready.IsCanceled) reason = "the model did not load";
        else if (!_model.IsLoaded) return true; // still loading: alive
        else if (Volatile.Read(ref _running) < _expected) reason = $"{Volatile.Read(ref _running)} of {_expected} inference workers running";
        else
        {
            long now = Stopwatch.GetTimestamp();
            for (int i = 0; i < _busySince.Length; i++)
            {
                if (Volatile.Read(ref _busySince[i]) != 0 && now - Volatile.Read(ref _lastProgress[i]) > _stallTicks)
                {
                    reason = $"inference worker {i} made no progress for {Stopwatch.GetElapsedTime(Volatile.Read(ref _lastProgress[i])).TotalSeconds:F0} s";
                    break;
                }
            }
        }
        return reason is null;
    }
}
