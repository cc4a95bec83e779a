using System.Diagnostics;
using EdgeRuntime.Cuda.Models;
using EdgeRuntime.Cuda.Runtime;
using EdgeRuntime.Models.Sessions;

namespace EdgeRuntime.Cuda.Diagnostics;

/// <summary>One decode benchmark at one batch size.</summary>
/// <param name="Batch">Sessions stepping together.</param>
/// <param name="Steps">Timed steps.</param>
/// <param name="GpuMsPerStep">GPU time per step (CUDA events around the replayed graphs, head and copies included).</param>
/// <param name="WallMsPerStep">Host time per <see cref="CudaBatch.Step(ReadOnlySpan{int}, Span{float})"/> call (synchronise and copy logits included).</param>
/// <param name="TokensPerSecond">Batch × steps / wall time.</param>
/// <param name="WeightFloorMs">Matrix bytes / measured read bandwidth: the time just to read the weights once.</param>
/// <param name="StateFloorMs">Batch × state bytes × 2 (read and write) / bandwidth, on top of the weights.</param>
/// <param name="KernelsPerStep">Kernel launches in one step.</param>
public sealed record BenchResult(int Batch, int Steps, double GpuMsPerStep, double WallMsPerStep, double TokensPerSecond,
    double WeightFloorMs, double StateFloorMs, int KernelsPerStep);

/// <summary>Decode throughput of a CUDA language model against the memory-bandwidth floor.</summary>
/// <remarks>Stateless; safe from any thread with a model not used elsewhere at the same time.</remarks>
public static class CudaBenchmark
{
    /// <summary>Device read bandwidth in bytes/s: a kernel sums <paramref name="bytes"/> (larger than L2) several times.</summary>
    public static double MeasureReadBandwidth(CudaDevice device, long bytes = 2L << 30, int repeats = 10)
    {
        device.MakeCurrent();
        using var buffer = device.Allocate(bytes);
        using var partial = device.Allocate(4L * 4096);
        using var stream = new CudaStream(device);
        long n = bytes / 16;
        var op = new KernelOp("read_bandwidth", device.Function("read_bandwidth"), (uint)device.MultiprocessorCount * 8, 1, 512, 0,
            [Arg.P(buffer.Pointer), Arg.L(n), Arg.P(partial.Pointer)]);
        stream.Launch(op);   // warm-up
        stream.Synchronize();
        nint start = stream.RecordEvent();
        for (int i = 0; i < repeats; i++) stream.Launch(op);
        nint end = stream.RecordEvent();
        double ms = CudaStream.ElapsedAndDestroy(start, end);
        return bytes * (double)repeats / (ms / 1000.0);
    }

    /// <summary>Per-kernel GPU time of one step at batch <paramref name="batch"/> (positions at <paramref name="startPosition"/>).</summary>
    public static IReadOnlyList<(string Kernel, double MsPerStep, int Launches)> Profile(CudaLanguageModel model, int batch, long startPosition = 4096)
    {
        using var b = model.CreateBatch(batch);
        var state = new float[model.StateLength];
        model.InitState(state);
        StatePosition.Set(state, 0, startPosition);
        for (int s = 0; s < batch; s++) b.SetState(s, state);
        b.Step(new int[batch], new float[batch * model.LogitsLength]);
        return b.ProfileKernels();
    }

    /// <summary>Times <paramref name="steps"/> decode steps of a batch of <paramref name="batch"/> sessions whose positions
    /// start at <paramref name="startPosition"/> (a long context: sliding windows full).</summary>
    public static BenchResult Run(CudaLanguageModel model, int batch, int steps, double bandwidth, long startPosition = 4096, int seed = 1)
    {
        using var b = model.CreateBatch(batch);
        var state = new float[model.StateLength];
        model.InitState(state);
        StatePosition.Set(state, 0, startPosition);
        for (int s = 0; s < batch; s++) b.SetState(s, state);
        var rng = new Random(seed);
        var tokens = Enumerable.Range(0, batch).Select(_ => rng.Next(model.VocabSize)).ToArray();
        var logits = new float[batch * model.LogitsLength];
        for (int i = 0; i < 3; i++) b.Step(tokens, logits);   // capture the graph, warm caches

        double gpuMs = b.TimeReplay(steps, head: true) / steps;
        long t0 = Stopwatch.GetTimestamp();
        for (int i = 0; i < steps; i++) b.Step(tokens, logits);
        double wallMs = Stopwatch.GetElapsedTime(t0).TotalMilliseconds / steps;
        double floor = model.MatrixBytes / bandwidth * 1000.0;
        double stateFloor = (double)batch * model.StateLength * 4 * 2 / bandwidth * 1000.0;
        return new BenchResult(batch, steps, gpuMs, wallMs, batch / wallMs * 1000.0, floor, stateFloor, b.KernelsPerStep);
    }
}
