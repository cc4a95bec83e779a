using System.Diagnostics;
using EdgeRuntime.Core.Kernels;

namespace EdgeRuntime.Tools.Benchmarking;

/// <summary>What <see cref="ModelBench"/> measures, and how often.</summary>
/// <param name="Repetitions">Timed repetitions of each test (after one warm-up).</param>
/// <param name="Depths">Depths at which decode is timed (the state is advanced there by prefill first).</param>
/// <param name="DepthSteps">Decode steps timed per repetition at each depth.</param>
/// <param name="Prompt">Run the pp512 test (and warm up prefill).</param>
/// <param name="Decode">Run the tg128 test.</param>
/// <param name="DepthTail">0: reach each depth by prefilling every token. Otherwise set the position counter to
/// <c>depth − DepthTail</c> and prefill only the last <c>DepthTail</c> tokens: the state has the shape and fill of that
/// depth (full sliding-window ring, position-dependent rotary angles) so decode does the same work, but not the numbers a
/// full prefill would give.</param>
internal sealed record BenchPlan(int Repetitions, IReadOnlyList<int> Depths, int DepthSteps, bool Prompt = true, bool Decode = true, int DepthTail = 0)
{
    /// <summary>Prompt length of the prefill test (llama-bench <c>pp512</c>).</summary>
    public const int PromptTokens = 512;

    /// <summary>Decode steps of the generation test (llama-bench <c>tg128</c>).</summary>
    public const int DecodeTokens = 128;
}

/// <summary>Mean and sample standard deviation of per-repetition rates.</summary>
internal readonly record struct Rate(double Mean, double Sd)
{
    public static Rate Of(IReadOnlyList<double> samples)
    {
        if (samples.Count == 0) return default;
        double mean = samples.Average();
        double var = samples.Count > 1 ? samples.Sum(s => (s - mean) * (s - mean)) / (samples.Count - 1) : 0;
        return new Rate(mean, Math.Sqrt(var));
    }
}

/// <summary>Everything one benchmark run measured.</summary>
internal sealed record BenchResult(
    Rate Prefill,
    Rate Decode,
    IReadOnlyList<(int Depth, Rate Rate)> Depths,
    long WeightBytesPerToken,
    double PrefillMultiplyAddsPerToken,
    double AllocatedBytesPerStep,
    long AllocatedBytes,
    long TimedSteps,
    long PeakRssBytes,
    IReadOnlyList<double> BandwidthPasses);

/// <summary>Receives phase names and progress of the untimed depth advance (called only between timed sections).</summary>
internal interface IBenchProgress
{
    void Phase(string description);

    void Advance(long done, long total);
}

/// <summary>llama-bench's method on one session: <c>pp512</c> (a 512-token prefill from an empty state, logits of the last
/// token), <c>tg128</c> (128 decode steps from an empty state, logits every step), then decode at each depth; every test
/// repeated after a warm-up, rates as mean ± sample sd over repetitions.</summary>
/// <remarks>
/// Inputs are prepared before timing (no tokenization, no sampling: step <c>i</c> feeds a fixed pseudo-random token).
/// Allocation is the whole process's managed allocation (<see cref="GC.GetTotalAllocatedBytes(bool)"/>, precise), read
/// around the timed decode steps only, so worker threads are included. Weight bytes per token are the matrix bytes one
/// decode step streams through <see cref="Linear"/>. Peak RSS is read after the warm-up (every weight and buffer touched,
/// nothing allocated later) and before the bandwidth probe's buffer exists. The probe's passes (bytes/s) run before the
/// timed decode repetitions and between them. Not thread-safe.
/// </remarks>
internal static class ModelBench
{
    public static BenchResult Run(BenchSession session, BenchPlan plan, IBenchProgress progress, Func<MemoryBandwidth>? createProbe = null)
    {
        int reps = plan.Repetitions;

        // Warm-up: prefills and steps for at least two seconds (and 3 prefills, 32 steps), so that tiered compilation has
        // promoted every kernel to its optimised code before timing starts.
        progress.Phase("warm-up");
        long w0 = Stopwatch.GetTimestamp();
        for (int i = 0; plan.Prompt && (i < 3 || Stopwatch.GetElapsedTime(w0).TotalSeconds < 1); i++)
        {
            session.Reset();
            session.Prefill(BenchPlan.PromptTokens, output: true);
        }
        w0 = Stopwatch.GetTimestamp();
        for (int i = 0; i < 32 || Stopwatch.GetElapsedTime(w0).TotalSeconds < 1; i++)
        {
            if (i % BenchPlan.DecodeTokens == 0) session.Reset();
            session.Step();
        }
        if (!plan.Prompt)
        {
            // Size every prefill buffer now, so that the peak RSS read below is final.
            session.Reset();
            session.Prefill(BenchPlan.PromptTokens, output: true);
        }
        long peakRss = ProcessMemory.PeakRss();
        using var probe = createProbe?.Invoke();
        var bandwidth = new List<double>();
        if (probe is not null)
        {
            progress.Phase("read bandwidth");
            for (int i = 0; i < 3; i++) bandwidth.Add(probe.Pass());
        }

        // Weight bytes of one decode step; multiply-adds of one prompt (per token).
        long bytes0 = Linear.ThreadWeightBytes;
        session.Step();
        long weightBytes = Linear.ThreadWeightBytes - bytes0;
        double prefillMacs = 0;
        if (plan.Prompt)
        {
            session.Reset();
            long macs0 = Linear.ThreadMultiplyAdds;
            session.Prefill(BenchPlan.PromptTokens, output: true);
            prefillMacs = (Linear.ThreadMultiplyAdds - macs0) / (double)BenchPlan.PromptTokens;
        }

        // pp512.
        var pp = new List<double>(reps);
        for (int r = 0; plan.Prompt && r < reps; r++)
        {
            progress.Phase($"pp{BenchPlan.PromptTokens} {r + 1}/{reps}");
            session.Reset();
            long t0 = Stopwatch.GetTimestamp();
            session.Prefill(BenchPlan.PromptTokens, output: true);
            pp.Add(BenchPlan.PromptTokens / Stopwatch.GetElapsedTime(t0).TotalSeconds);
        }

        // tg128, with the process's managed allocations counted around the timed steps only.
        var tg = new List<double>(reps);
        long allocated = 0, steps = 0;
        for (int r = 0; plan.Decode && r < reps; r++)
        {
            progress.Phase($"tg{BenchPlan.DecodeTokens} {r + 1}/{reps}");
            if (probe is not null) bandwidth.Add(probe.Pass());
            session.Reset();
            long a0 = GC.GetTotalAllocatedBytes(precise: true);
            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < BenchPlan.DecodeTokens; i++) session.Step();
            double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            allocated += GC.GetTotalAllocatedBytes(precise: true) - a0;
            steps += BenchPlan.DecodeTokens;
            tg.Add(BenchPlan.DecodeTokens / seconds);
        }
        if (probe is not null && plan.Decode) bandwidth.Add(probe.Pass());

        // Decode at depth: advance by prefill (untimed) through the depths in order, keeping a copy of the state at each; then
        // time DepthSteps steps from each copy, the depths interleaved within every repetition so that a drift of the
        // machine (a shared host's memory bandwidth moves by tens of percent over seconds) hits all depths alike.
        var ordered = plan.Depths.Order().ToArray();
        var states = new float[ordered.Length][];
        session.Reset();
        for (int i = 0; i < ordered.Length; i++)
        {
            int depth = ordered[i];
            progress.Phase($"advance to depth {depth}");
            if (plan.DepthTail > 0 && depth - session.Position > plan.DepthTail)
            {
                session.Reset();
                if (!session.TrySetPosition(depth - plan.DepthTail))
                    throw new NotSupportedException("bench: --depth-fill tail needs the position counter at state offset 0; use --depth-fill prefill");
            }
            while (session.Position < depth)
            {
                session.Prefill((int)Math.Min(BenchSession.Chunk, depth - session.Position), output: false);
                progress.Advance(session.Position, depth);
            }
            states[i] = new float[session.Model.StateLength];
            session.SaveState(states[i]);
        }
        var samples = ordered.Select(_ => new List<double>(reps)).ToArray();
        for (int r = 0; r < reps && ordered.Length > 0; r++)
        {
            progress.Phase($"decode at depths {string.Join(",", ordered)} {r + 1}/{reps}");
            for (int i = 0; i < ordered.Length; i++)
            {
                session.LoadState(states[i]);
                long t0 = Stopwatch.GetTimestamp();
                for (int k = 0; k < plan.DepthSteps; k++) session.Step();
                samples[i].Add(plan.DepthSteps / Stopwatch.GetElapsedTime(t0).TotalSeconds);
            }
        }
        var depths = ordered.Select((d, i) => (d, Rate.Of(samples[i]))).ToList();

        return new BenchResult(Rate.Of(pp), Rate.Of(tg), depths, weightBytes, prefillMacs, steps == 0 ? 0 : (double)allocated / steps, allocated, steps,
            peakRss, bandwidth);
    }
}
