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
/// No <c>Task</c> and no allocation per job: workers wait on their own <see cref="ManualResetEventSlim"/> (which spins
/// briefly before blocking) and the caller spins on a countdown. Thread-safe: concurrent <see cref="Run"/> calls are
/// serialised, so models and sessions on several threads may share one pool.
/// </remarks>
public sealed class WorkerPool : IDisposable
{
    private readonly Thread[] _threads;
    private readonly ManualResetEventSlim[] _start;
    private readonly Lock _gate = new();
    private IParallelJob? _job;
    private int _pending;
    private volatile bool _disposed;
    private Exception? _failure;

    /// <summary>Creates a pool of <paramref name="threadCount"/> workers (0 or less: one per core).</summary>
    public WorkerPool(int threadCount = 0)
    {
        WorkerCount = threadCount <= 0 ? Environment.ProcessorCount : threadCount;
        _threads = new Thread[WorkerCount - 1];
        _start = new ManualResetEventSlim[WorkerCount - 1];
        for (int i = 0; i < _threads.Length; i++)
        {
            _start[i] = new ManualResetEventSlim(false, spinCount: 2000);
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
            for (int i = 0; i < _start.Length; i++) _start[i].Set();
            try
            {
                job.Execute(0, WorkerCount);
            }
            finally
            {
                var spin = new SpinWait();
                while (Volatile.Read(ref _pending) != 0) spin.SpinOnce(sleep1Threshold: -1);
                _job = null;
            }
            if (_failure is { } failure) throw new AggregateException("A worker failed.", failure);
        }
    }

    private void WorkerLoop(int index)
    {
        var start = _start[index - 1];
        while (true)
        {
            start.Wait();
            start.Reset();
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
        foreach (var s in _start) s.Set();
        foreach (var t in _threads) t.Join();
        foreach (var s in _start) s.Dispose();
    }
}
