using System.Diagnostics;

namespace EdgeRuntime.Core.Threading;

/// <summary>A unit of parallel work: each of <c>workerCount</c> workers runs <see cref="Execute"/> once with its own index.</summary>
/// <remarks>Implementations split rows or heads themselves (ggml ith/nth) and must not allocate.</remarks>
public interface IParallelJob
{
    /// <summary>Runs this worker's share.</summary>
    void Execute(int workerIndex, int workerCount);
}

/// <summary>A persistent pool of worker threads that run one <see cref="IParallelJob"/> at a time, the caller taking share 0.</summary>
/// <remarks>
/// <para>Hand-off is a shared epoch counter, as in ggml's thread pool: <see cref="Run"/> publishes the job and increments
/// the epoch; idle workers poll it (with <c>pause</c>, then yielding) for <see cref="SpinMicroseconds"/> after their last
/// job, so the back-to-back jobs of a decode step (a few per layer, microseconds apart) start within a cache-line
/// transfer, and only then block on a monitor (no CPU burnt while the model is idle). The caller spins on a countdown until every worker
/// is done, polling just as finely (an exponential back-off would notice the last worker late every time). No <c>Task</c>
/// and no allocation per job.</para>
/// Thread-safe: concurrent <see cref="Run"/> calls are serialised, so models and sessions on several threads may share one pool.
/// </remarks>
public sealed class WorkerPool : IDisposable
{
    /// <summary>How long an idle worker polls for the next job before it blocks.</summary>
    public const int SpinMicroseconds = 1000;

    /// <summary>For how much of that it polls with <c>pause</c> alone; after that it yields between polls, so that on an
    /// oversubscribed machine a runnable thread (maybe the caller itself) gets the core.</summary>
    public const int PauseMicroseconds = 200;

    private readonly Thread[] _threads;
    private readonly Lock _gate = new();
    private readonly object _sleep = new();
    private readonly long _spinTicks, _pauseTicks;
    private IParallelJob? _job;
    private long _epoch;
    private int _pending;
    private int _sleepers;
    private volatile bool _disposed;
    private Exception? _failure;

    /// <summary>Creates a pool of <paramref name="threadCount"/> workers (0 or less: one per core).</summary>
    public WorkerPool(int threadCount = 0)
    {
        WorkerCount = threadCount <= 0 ? Environment.ProcessorCount : threadCount;
        _spinTicks = Stopwatch.Frequency * SpinMicroseconds / 1_000_000;
        _pauseTicks = Stopwatch.Frequency * PauseMicroseconds / 1_000_000;
        _threads = new Thread[WorkerCount - 1];
        for (int i = 0; i < _threads.Length; i++)
        {
            int index = i + 1;
            _threads[i] = new Thread(() => WorkerLoop(index)) { IsBackground = true, Name = $"edge-worker-{index}" };
            _threads[i].Start();
        }
    }

    /// <summary>A single-threaded pool, handy for tests and reference runs.</summary>
    public static WorkerPool Single { get; } = new(1);

    /// <summary>Number of workers, the calling thread included.</summary>
    public int WorkerCount { get; }

    /// <summary>Runs <paramref name="job"/> on every worker and returns when all have finished.</summary>
    /// <remarks>An exception in any worker is rethrown here after all workers finish.</remarks>
    public void Run(IParallelJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (WorkerCount == 1)
        {
            job.Execute(0, 1);
            return;
        }
        lock (_gate)
        {
            _job = job;
            _failure = null;
            Volatile.Write(ref _pending, WorkerCount - 1);
            // Full fence: the job is visible before the new epoch; then wake workers that gave up spinning (see WaitForJob).
            Interlocked.Increment(ref _epoch);
            if (Volatile.Read(ref _sleepers) != 0)
                lock (_sleep) Monitor.PulseAll(_sleep);
            try
            {
                job.Execute(0, WorkerCount);
            }
            finally
            {
                WaitForWorkers();
                _job = null;
            }
            if (_failure is { } failure) throw new AggregateException("A worker failed.", failure);
        }
    }

    private void WorkerLoop(int index)
    {
        long seen = 0;
        while (true)
        {
            seen = WaitForJob(seen);
            if (_disposed) return;
            try
            {
                _job!.Execute(index, WorkerCount);
            }
            catch (Exception ex)
            {
                _failure = ex;
            }
            finally
            {
                Interlocked.Decrement(ref _pending);
            }
        }
    }

    /// <summary>Polls the countdown with single <c>pause</c>s (a <see cref="SpinWait"/> backs off exponentially and would
    /// notice the last worker microseconds late, every job), yielding between polls after <see cref="PauseMicroseconds"/>.</summary>
    private void WaitForWorkers()
    {
        if (Volatile.Read(ref _pending) == 0) return;
        long start = Stopwatch.GetTimestamp();
        bool yielding = false;
        for (int i = 0; Volatile.Read(ref _pending) != 0; i++)
        {
            if (yielding) Thread.Yield();
            else Thread.SpinWait(1);
            if (!yielding && (i & 63) == 63) yielding = Stopwatch.GetTimestamp() - start > _pauseTicks;
        }
    }

    /// <summary>Returns the first epoch after <paramref name="seen"/>: polls for <see cref="SpinMicroseconds"/>, then blocks.</summary>
    private long WaitForJob(long seen)
    {
        long start = Stopwatch.GetTimestamp();
        bool yielding = false;
        for (int i = 0; ; i++)
        {
            long epoch = Volatile.Read(ref _epoch);
            if (epoch != seen || _disposed) return epoch;
            if (yielding) Thread.Yield();
            else Thread.SpinWait(1);
            if ((i & 63) == 63 || yielding)
            {
                long elapsed = Stopwatch.GetTimestamp() - start;
                if (elapsed > _spinTicks) break;
                yielding = elapsed > _pauseTicks;
            }
        }
        // Dekker pairing with Run: this increment and Run's epoch increment are both full fences, so either Run sees a
        // sleeper and pulses, or this thread sees the new epoch below and never waits.
        Interlocked.Increment(ref _sleepers);
        try
        {
            lock (_sleep)
            {
                while (Volatile.Read(ref _epoch) == seen && !_disposed) Monitor.Wait(_sleep);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _sleepers);
        }
        return Volatile.Read(ref _epoch);
    }

    /// <summary>Splits <paramref name="count"/> items into <paramref name="workerCount"/> contiguous ranges.</summary>
    public static (int Start, int End) Partition(int count, int workerIndex, int workerCount)
    {
        int chunk = count / workerCount, rest = count % workerCount;
        int start = workerIndex * chunk + Math.Min(workerIndex, rest);
        return (start, start + chunk + (workerIndex < rest ? 1 : 0));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Interlocked.Increment(ref _epoch);
        lock (_sleep) Monitor.PulseAll(_sleep);
        foreach (var t in _threads) t.Join();
    }
}
