using EdgeRuntime.Cuda.Models;
using EdgeRuntime.Models.Sessions;
using EdgeRuntime.Models.Verification;

namespace EdgeRuntime.Cuda.Diagnostics;

/// <summary>CUDA-vs-CPU agreement on one checkpoint: the same random inputs through the CPU model and the CUDA model, through
/// the <see cref="IModel"/> interface (host state) and through a device-resident <see cref="CudaBatch"/>, plus a state
/// handed from the CPU to the GPU mid-sequence.</summary>
/// <remarks>Each check is a <see cref="VerifyCheck"/> by <see cref="GoldenVerifier.Compare"/>: max |gpu − cpu| / max |cpu|
/// over every position. Stateless; safe from any thread with models that are not used elsewhere at the same time.</remarks>
public static class CudaComparison
{
    /// <summary>Runs every check.</summary>
    /// <param name="cpu">The CPU model (the expected numbers).</param>
    /// <param name="gpu">The same checkpoint on the GPU (<see cref="CudaLanguageModel"/> or <see cref="CudaSequenceModel"/>).</param>
    /// <param name="steps">Tokens (or steps) per sequence.</param>
    /// <param name="batch">Sessions of the batched check, each with its own sequence.</param>
    /// <param name="seed">Seed of the random tokens / inputs.</param>
    /// <param name="tolerance">Bound on the max relative error.</param>
    /// <param name="progress">Receives each check's name as it starts.</param>
    public static IReadOnlyList<VerifyCheck> Run(IModel cpu, IModel gpu, int steps, int batch, int seed, double tolerance, IProgress<string>? progress = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        return (cpu, gpu) switch
        {
            (ILanguageModel c, CudaLanguageModel g) => Language(c, g, steps, batch, seed, tolerance, progress),
            (ISequenceModel c, CudaSequenceModel g) => Sequence(c, g, steps, batch, seed, tolerance, progress),
            _ => throw new ArgumentException($"cuda: cannot compare {cpu.GetType().Name} with {gpu.GetType().Name}", nameof(gpu)),
        };
    }

    private static List<VerifyCheck> Language(ILanguageModel cpu, CudaLanguageModel gpu, int t, int b, int seed, double tol, IProgress<string>? progress)
    {
        int v = cpu.LogitsLength, vocab = cpu.VocabSize;
        var rng = new Random(seed);
        var seqs = new int[b][];
        for (int s = 0; s < b; s++) seqs[s] = Enumerable.Range(0, t).Select(_ => rng.Next(vocab)).ToArray();

        // Expected: the CPU's chunked prefill with every position's logits, and its final states.
        progress?.Report("cpu");
        var expected = new float[b][];
        var cpuStates = new float[b][];
        var half = new float[cpu.StateLength];
        using (var scratch = cpu.CreateScratch())
        {
            for (int s = 0; s < b; s++)
            {
                expected[s] = new float[t * v];
                cpuStates[s] = new float[cpu.StateLength];
                cpu.InitState(cpuStates[s]);
                cpu.Prefill(seqs[s], cpuStates[s], expected[s], scratch);
            }
            cpu.InitState(half);
            cpu.Prefill(seqs[0].AsSpan(0, t / 2), half, [], scratch);
        }

        var checks = new List<VerifyCheck>();
        var actual = new float[t * v];
        var state = new float[gpu.StateLength];
        using (var scratch = gpu.CreateScratch())
        {
            // The interface path: Prefill (a loop of GPU steps) with every position's logits.
            progress?.Report("interface-prefill");
            gpu.InitState(state);
            gpu.Prefill(seqs[0], state, actual, scratch);
            checks.Add(GoldenVerifier.Compare("interface-prefill", actual, expected[0], t, v, vocab, tol));
            checks.Add(GoldenVerifier.Compare("interface-state", state, cpuStates[0], 1, state.Length, state.Length, tol));

            // A CPU state continued on the GPU, one Step at a time.
            progress?.Report("cpu-to-gpu-handoff");
            half.CopyTo(state, 0);
            for (int i = t / 2; i < t; i++) gpu.Step(seqs[0][i], state, actual.AsSpan(i * v, v), scratch);
            checks.Add(GoldenVerifier.Compare("cpu-to-gpu-handoff", actual.AsSpan((t / 2) * v), expected[0].AsSpan((t / 2) * v), t - t / 2, v, vocab, tol));
        }

        // The device-resident batch: b sessions step together.
        progress?.Report($"batch-{b}");
        using var batch = gpu.CreateBatch(b);
        var tokens = new int[b];
        var logits = new float[b * v];
        var got = new float[b][];
        for (int s = 0; s < b; s++) got[s] = new float[t * v];
        for (int i = 0; i < t; i++)
        {
            for (int s = 0; s < b; s++) tokens[s] = seqs[s][i];
            batch.Step(tokens, logits);
            for (int s = 0; s < b; s++) logits.AsSpan(s * v, v).CopyTo(got[s].AsSpan(i * v));
        }
        checks.Add(GoldenVerifier.Compare($"batch-{b}", Concat(got), Concat(expected), b * t, v, vocab, tol));
        var states = new float[b][];
        for (int s = 0; s < b; s++)
        {
            states[s] = new float[gpu.StateLength];
            batch.GetState(s, states[s]);
        }
        checks.Add(GoldenVerifier.Compare($"batch-{b}-state", Concat(states), Concat(cpuStates), b, gpu.StateLength, 1, tol));
        return checks;
    }

    private static List<VerifyCheck> Sequence(ISequenceModel cpu, CudaSequenceModel gpu, int t, int b, int seed, double tol, IProgress<string>? progress)
    {
        int din = cpu.InputLength, dout = cpu.OutputLength;
        var rng = new Random(seed);
        var inputs = new float[b][];
        for (int s = 0; s < b; s++) inputs[s] = Enumerable.Range(0, t * din).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        progress?.Report("cpu");
        var expected = new float[b][];
        var cpuStates = new float[b][];
        using (var scratch = cpu.CreateScratch())
        {
            for (int s = 0; s < b; s++)
            {
                expected[s] = new float[t * dout];
                cpuStates[s] = new float[cpu.StateLength];
                cpu.InitState(cpuStates[s]);
                cpu.Prefill(inputs[s], cpuStates[s], expected[s], scratch);
            }
        }
        var checks = new List<VerifyCheck>();
        var actual = new float[t * dout];
        var state = new float[gpu.StateLength];
        using (var scratch = gpu.CreateScratch())
        {
            progress?.Report("interface-prefill");
            gpu.InitState(state);
            gpu.Prefill(inputs[0], state, actual, scratch);
            checks.Add(GoldenVerifier.Compare("interface-prefill", actual, expected[0], t, dout, dout, tol));
        }
        progress?.Report($"batch-{b}");
        using var batch = gpu.CreateBatch(b);
        var step = new float[b * din];
        var outs = new float[b * dout];
        var got = new float[b][];
        for (int s = 0; s < b; s++) got[s] = new float[t * dout];
        for (int i = 0; i < t; i++)
        {
            for (int s = 0; s < b; s++) inputs[s].AsSpan(i * din, din).CopyTo(step.AsSpan(s * din));
            batch.Step(step, outs);
            for (int s = 0; s < b; s++) outs.AsSpan(s * dout, dout).CopyTo(got[s].AsSpan(i * dout));
        }
        checks.Add(GoldenVerifier.Compare($"batch-{b}", Concat(got), Concat(expected), b * t, dout, dout, tol));
        return checks;
    }

    private static float[] Concat(float[][] parts) => parts.SelectMany(p => p).ToArray();
}
