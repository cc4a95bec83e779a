using EdgeRuntime.Core.Threading;

namespace EdgeRuntime.Tests.Threading;

public sealed class WorkerPoolTests
{
    private sealed class CountJob : IParallelJob
    {
        public readonly int[] Hits = new int[1000];
        public void Execute(int workerIndex, int workerCount)
        {
            var (s, e) = WorkerPool.Partition(Hits.Length, workerIndex, workerCount);
            for (int i = s; i < e; i++) Hits[i]++;
        }
    }

    private sealed class ThrowJob : IParallelJob
    {
        public void Execute(int workerIndex, int workerCount)
        {
            if (workerIndex == workerCount - 1) throw new InvalidOperationException("boom");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    public void Run_CoversEveryIndexExactlyOnce_ManyTimes(int threads)
    {
        using var pool = new WorkerPool(threads);
        var job = new CountJob();
        for (int round = 0; round < 200; round++) pool.Run(job);
        Assert.All(job.Hits, h => Assert.Equal(200, h));
    }

    [Fact]
    public void Run_WakesWorkersThatBlocked_AfterIdlePeriods()
    {
        // Gaps longer than the spin window make workers block; alternate with back-to-back runs that catch them spinning.
        using var pool = new WorkerPool(3);
        var job = new CountJob();
        for (int round = 0; round < 40; round++)
        {
            if (round % 2 == 0) Thread.Sleep(2);
            pool.Run(job);
        }
        Assert.All(job.Hits, h => Assert.Equal(40, h));
    }

    [Fact]
    public void Run_RethrowsWorkerFailure_AndKeepsWorking()
    {
        using var pool = new WorkerPool(3);
        Assert.Throws<AggregateException>(() => pool.Run(new ThrowJob()));
        var job = new CountJob();
        pool.Run(job);
        Assert.All(job.Hits, h => Assert.Equal(1, h));
    }

    [Fact]
    public void Partition_SplitsContiguously()
    {
        int covered = 0;
        for (int i = 0; i < 7; i++)
        {
            var (s, e) = WorkerPool.Partition(100, i, 7);
            Assert.Equal(covered, s);
            covered = e;
        }
        Assert.Equal(100, covered);
    }
}
