using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using EdgeRuntime.Core;
using EdgeRuntime.Core.Kernels;
using EdgeRuntime.Core.Threading;

namespace EdgeRuntime.Models.Mechanisms;

/// <summary>Lightning attention: causal linear attention with a per-head exponential decay and optional LRPE
/// (TransNormerLLM, Qin et al. 2023, arXiv:2307.14995; Lightning Attention-2, arXiv:2401.04658).</summary>
/// <remarks>
/// <para>Per head <c>h</c> with slope <c>λ_h</c>, on already-activated <c>q, k</c> (each <c>HeadSize</c> wide) and <c>v</c>:
/// <c>o_t = Σ_{s≤t} e^{−λ_h (t−s)} (q̃_t·k̃_s) v_s</c>, i.e. the recurrence <c>KV_t = e^{−λ_h} KV_{t−1} + k̃_tᵀ v_t</c>,
/// <c>o_t = q̃_t KV_t</c> with <c>KV</c> of shape <c>(KeySize, HeadSize)</c>. Without LRPE <c>q̃ = q</c>; with LRPE
/// (<c>theta</c> of shape <c>(HeadCount, HeadSize)</c>) at absolute position <c>p</c>
/// <c>q̃ = [q ⊙ cos(θp), q ⊙ sin(θp)]</c> (so <c>KeySize = 2·HeadSize</c> and <c>q̃_t·k̃_s = Σ_i q_i k_i cos(θ_i (t−s))</c>);
/// <c>θp</c> is formed in double.</para>
/// <para><see cref="Prefill"/> is Lightning-2's block form: for a block of <c>m</c> tokens with local index <c>j</c>,
/// <c>O = [(Q̃K̃ᵀ) ⊙ D] V + (Q̃ ⊙ e^{−λ(j+1)}) KV</c> with <c>D_ij = e^{−λ(i−j)}</c> (i ≥ j), then
/// <c>KV ← e^{−λm} KV + (K̃ ⊙ e^{−λ(m−1−j)})ᵀ V</c>. Decays come from a table <c>e^{−λn}</c> built in double; terms below
/// <c>e^{−69}</c> (1e-30) are skipped.</para>
/// <para>Reference: OpenNLPLab/lightning-attention@d15c385 lightning_attn/ops/torch/linear_attention.py (<c>linear_attn</c>),
/// lightning_attn/utils/utils.py (<c>_build_slope_tensor</c>); HF <c>modeling_transnormer.py</c> <c>NormLinearAttention.inference</c>
/// and <c>Lrpe</c>.</para>
/// <para>Immutable after construction; one instance may serve many sessions at once (each with its own state and scratch).</para>
/// </remarks>
public sealed unsafe class LightningAttention
{
    /// <summary>Decay terms <c>e^{−λn}</c> below this are treated as zero.</summary>
    private const double NegligibleExponent = 69.0;

    /// <summary>State floats per step below which <see cref="Step"/> runs on the calling thread.</summary>
    private const int StepParallelThreshold = 64 * 1024;

    /// <summary>Query rows per work item of the block-output phase.</summary>
    private const int RowChunk = 16;

    [ThreadStatic] private static Job? t_job;

    private readonly double[] _slopes;
    private readonly float[] _theta;   // (HeadCount, HeadSize) or empty
    private readonly float[] _decay;   // (HeadCount, PrefillBlock + 1): e^{−λ_h n}, 0 from _window[h] on; pinned
    private readonly int[] _window;    // per head: first n whose decay counts as zero (≤ PrefillBlock + 1)

    /// <summary>Creates the mechanism for one layer.</summary>
    /// <param name="headCount">Heads <c>H</c>.</param>
    /// <param name="headSize">Width of q, k, v per head.</param>
    /// <param name="slopes">Per-head decay rates <c>λ_h ≥ 0</c> (<see cref="LayerSlopes"/>), <c>H</c> values.</param>
    /// <param name="lrpeTheta">Empty (no LRPE) or <c>H·headSize</c> angles, the checkpoint's <c>lrpe.theta</c> <c>(H, 1, headSize)</c>.</param>
    /// <param name="prefillBlock">Lightning-2 block size (tokens), at least 1.</param>
    /// <exception cref="ArgumentException">A size is not positive, a length disagrees, or a slope is negative or not finite.</exception>
    public LightningAttention(int headCount, int headSize, ReadOnlySpan<double> slopes, ReadOnlySpan<float> lrpeTheta, int prefillBlock)
    {
        if (headCount <= 0) ThrowHelper.OutOfRange(nameof(headCount), headCount, "> 0");
        if (headSize <= 0) ThrowHelper.OutOfRange(nameof(headSize), headSize, "> 0");
        if (prefillBlock <= 0) ThrowHelper.OutOfRange(nameof(prefillBlock), prefillBlock, "> 0");
        if (slopes.Length != headCount) ThrowHelper.LengthMismatch(nameof(slopes), slopes.Length, headCount);
        if (!lrpeTheta.IsEmpty && lrpeTheta.Length != headCount * headSize)
            ThrowHelper.LengthMismatch(nameof(lrpeTheta), lrpeTheta.Length, headCount * headSize);
        foreach (double s in slopes)
            if (!(s >= 0) || double.IsInfinity(s)) throw new ArgumentException($"'{nameof(slopes)}' contains {s}, expected finite values >= 0.", nameof(slopes));

        HeadCount = headCount;
        HeadSize = headSize;
        KeySize = lrpeTheta.IsEmpty ? headSize : 2 * headSize;
        PrefillBlock = prefillBlock;
        _slopes = slopes.ToArray();
        _theta = lrpeTheta.ToArray();
        _decay = GC.AllocateArray<float>(headCount * (prefillBlock + 1), pinned: true);
        _window = new int[headCount];
        for (int h = 0; h < headCount; h++)
        {
            int window = prefillBlock + 1;
            for (int n = 0; n <= prefillBlock; n++)
            {
                double exponent = _slopes[h] * n;
                if (exponent > NegligibleExponent)
                {
                    window = n;
                    break;
                }
                _decay[h * (prefillBlock + 1) + n] = (float)Math.Exp(-exponent);
            }
            _window[h] = window;
        }
    }

    /// <summary>Heads.</summary>
    public int HeadCount { get; }

    /// <summary>Width of q, k and v per head.</summary>
    public int HeadSize { get; }

    /// <summary>Rows of each head's KV state: <see cref="HeadSize"/>, or twice that with LRPE.</summary>
    public int KeySize { get; }

    /// <summary>Tokens per Lightning-2 block.</summary>
    public int PrefillBlock { get; }

    /// <summary>Whether q and k get the LRPE expansion.</summary>
    public bool UsesLrpe => _theta.Length != 0;

    /// <summary>Per-head decay rates.</summary>
    public ReadOnlySpan<double> Slopes => _slopes;

    /// <summary>Floats of state: <c>HeadCount × KeySize × HeadSize</c> (head-major, then key row, then value column).</summary>
    public int StateLength => HeadCount * KeySize * HeadSize;

    /// <summary>Floats of scratch <see cref="Step"/> and <see cref="Prefill"/> need: the expanded q̃ and k̃ of one block.</summary>
    public int ScratchLength => 2 * HeadCount * PrefillBlock * KeySize;

    /// <summary>ALiBi slopes, <c>_build_slope_tensor(n)</c>: for a power of two <c>n</c>, <c>start·start^i</c> with
    /// <c>start = 2^(−2^(−(log2 n − 3)))</c>; otherwise the slopes of the closest lower power of two <c>p</c>, then every
    /// other slope of <c>2p</c> up to <c>n</c> values.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="headCount"/> is not positive.</exception>
    public static double[] BaseSlopes(int headCount)
    {
        if (headCount <= 0) ThrowHelper.OutOfRange(nameof(headCount), headCount, "> 0");
        if (int.IsPow2(headCount)) return PowerOfTwoSlopes(headCount);
        int closest = 1 << (31 - int.LeadingZeroCount(headCount));
        var result = new double[headCount];
        PowerOfTwoSlopes(closest).CopyTo(result, 0);
        double[] wider = PowerOfTwoSlopes(2 * closest);
        for (int i = 0; i < headCount - closest; i++) result[closest + i] = wider[2 * i];
        return result;
    }

    private static double[] PowerOfTwoSlopes(int n)
    {
        double start = Math.Pow(2, -Math.Pow(2, -(Math.Log2(n) - 3)));
        var slopes = new double[n];
        for (int i = 0; i < n; i++) slopes[i] = start * Math.Pow(start, i);
        return slopes;
    }

    /// <summary>Slopes of layer <paramref name="layer"/> of <paramref name="layerCount"/>:
    /// <c>BaseSlopes(H) · (1 − layer/(layerCount−1) + 1e-5)</c>, so the first layer decays fastest and the last almost not.</summary>
    /// <remarks>The reference divides by <c>layerCount − 1</c>, which fails for a single layer; here a single layer takes
    /// the factor <c>1 + 1e-5</c> (the first layer's factor in any deeper model).</remarks>
    public static double[] LayerSlopes(int headCount, int layer, int layerCount)
    {
        if (layerCount <= 0) ThrowHelper.OutOfRange(nameof(layerCount), layerCount, "> 0");
        if ((uint)layer >= (uint)layerCount) ThrowHelper.OutOfRange(nameof(layer), layer, $"0..{layerCount - 1}");
        double factor = 1.0 - (layerCount == 1 ? 0.0 : (double)layer / (layerCount - 1)) + 1e-5;
        double[] slopes = BaseSlopes(headCount);
        for (int i = 0; i < slopes.Length; i++) slopes[i] *= factor;
        return slopes;
    }

    /// <summary>Recurrent form: consumes one token at <paramref name="position"/>.</summary>
    /// <param name="pool">Workers that split heads when the state is large.</param>
    /// <param name="q">Activated queries, <c>HeadCount·HeadSize</c> floats, heads contiguous.</param>
    /// <param name="k">Activated keys, same layout.</param>
    /// <param name="v">Values, same layout.</param>
    /// <param name="position">Absolute position of this token (0 for the first), used by LRPE.</param>
    /// <param name="state">Caller-owned, <see cref="StateLength"/> floats, updated in place.</param>
    /// <param name="output">Caller-owned, <c>HeadCount·HeadSize</c> floats; must not overlap the inputs.</param>
    /// <param name="scratch">At least <see cref="ScratchLength"/> floats.</param>
    /// <remarks>Allocates nothing on the managed heap (after the calling thread's first call).</remarks>
    public void Step(WorkerPool pool, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, long position,
        Span<float> state, Span<float> output, Span<float> scratch)
    {
        int width = HeadCount * HeadSize;
        if (q.Length < width) ThrowHelper.TooShort(nameof(q), q.Length, width);
        if (k.Length < width) ThrowHelper.TooShort(nameof(k), k.Length, width);
        if (v.Length < width) ThrowHelper.TooShort(nameof(v), v.Length, width);
        if (output.Length < width) ThrowHelper.TooShort(nameof(output), output.Length, width);
        if (state.Length < StateLength) ThrowHelper.TooShort(nameof(state), state.Length, StateLength);
        if (scratch.Length < 2 * HeadCount * KeySize) ThrowHelper.TooShort(nameof(scratch), scratch.Length, 2 * HeadCount * KeySize);
        if (position < 0) ThrowHelper.OutOfRange(nameof(position), position, ">= 0");
        fixed (float* pq = q, pk = k, pv = v, ps = state, po = output, pt = scratch)
        {
            var job = Prepare(pq, pk, pv, width, 1, position, ps, po, width, pt);
            job.Phase = Phase.Step;
            Launch(pool, job, HeadCount, StateLength >= StepParallelThreshold);
            job.Owner = null;
        }
    }

    /// <summary>Lightning-2 block form over <paramref name="tokens"/> tokens, equal to that many <see cref="Step"/> calls.</summary>
    /// <param name="pool">Workers that split heads and rows.</param>
    /// <param name="q">Token <c>t</c>'s activated queries at <c>q[t·inputStride ..]</c>, <c>HeadCount·HeadSize</c> floats.</param>
    /// <param name="k">Keys, same layout.</param>
    /// <param name="v">Values, same layout.</param>
    /// <param name="inputStride">Floats between consecutive tokens of q, k and v.</param>
    /// <param name="tokens">Token count (any; processed in blocks of <see cref="PrefillBlock"/>).</param>
    /// <param name="position">Absolute position of the first token.</param>
    /// <param name="state">Caller-owned, <see cref="StateLength"/> floats, updated in place.</param>
    /// <param name="output">Token <c>t</c>'s output at <c>output[t·outputStride ..]</c>; must not overlap the inputs.</param>
    /// <param name="outputStride">Floats between consecutive output rows.</param>
    /// <param name="scratch">At least <see cref="ScratchLength"/> floats.</param>
    public void Prefill(WorkerPool pool, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, int inputStride, int tokens,
        long position, Span<float> state, Span<float> output, int outputStride, Span<float> scratch)
    {
        int width = HeadCount * HeadSize;
        if (tokens < 0) ThrowHelper.OutOfRange(nameof(tokens), tokens, ">= 0");
        if (tokens == 0) return;
        if (inputStride < width) ThrowHelper.OutOfRange(nameof(inputStride), inputStride, $">= {width}");
        if (outputStride < width) ThrowHelper.OutOfRange(nameof(outputStride), outputStride, $">= {width}");
        long needIn = (long)(tokens - 1) * inputStride + width, needOut = (long)(tokens - 1) * outputStride + width;
        if (q.Length < needIn) ThrowHelper.TooShort(nameof(q), q.Length, (int)Math.Min(needIn, int.MaxValue));
        if (k.Length < needIn) ThrowHelper.TooShort(nameof(k), k.Length, (int)Math.Min(needIn, int.MaxValue));
        if (v.Length < needIn) ThrowHelper.TooShort(nameof(v), v.Length, (int)Math.Min(needIn, int.MaxValue));
        if (output.Length < needOut) ThrowHelper.TooShort(nameof(output), output.Length, (int)Math.Min(needOut, int.MaxValue));
        if (state.Length < StateLength) ThrowHelper.TooShort(nameof(state), state.Length, StateLength);
        if (scratch.Length < ScratchLength) ThrowHelper.TooShort(nameof(scratch), scratch.Length, ScratchLength);
        if (position < 0) ThrowHelper.OutOfRange(nameof(position), position, ">= 0");
        fixed (float* pq = q, pk = k, pv = v, ps = state, po = output, pt = scratch)
        {
            for (int start = 0; start < tokens; start += PrefillBlock)
            {
                int m = Math.Min(PrefillBlock, tokens - start);
                long inOffset = (long)start * inputStride, outOffset = (long)start * outputStride;
                var job = Prepare(pq + inOffset, pk + inOffset, pv + inOffset, inputStride, m, position + start, ps, po + outOffset, outputStride, pt);
                bool parallel = (long)m * StateLength >= StepParallelThreshold;
                job.Phase = Phase.Expand;
                Launch(pool, job, HeadCount, parallel);
                job.Phase = Phase.Output;
                Launch(pool, job, HeadCount * ((m + RowChunk - 1) / RowChunk), parallel);
                job.Phase = Phase.Update;
                Launch(pool, job, HeadCount * KeySize, parallel);
                job.Owner = null;
            }
        }
    }

    private Job Prepare(float* q, float* k, float* v, int inputStride, int tokens, long position, float* state, float* output, int outputStride, float* scratch)
    {
        var job = t_job ??= new Job();
        job.Owner = this;
        job.Q = q; job.K = k; job.V = v; job.InputStride = inputStride; job.Tokens = tokens; job.Position = position;
        job.State = state; job.Output = output; job.OutputStride = outputStride;
        job.QTilde = scratch;
        job.KTilde = scratch + (long)HeadCount * PrefillBlock * KeySize;
        return job;
    }

    private static void Launch(WorkerPool pool, Job job, int items, bool parallel)
    {
        job.Items = items;
        if (parallel && pool.WorkerCount > 1 && items > 1) pool.Run(job);
        else job.Execute(0, 1);
    }

    private enum Phase { Step, Expand, Output, Update }

    /// <summary>One call's pointers; kept per calling thread so concurrent sessions never share one.</summary>
    private sealed class Job : IParallelJob
    {
        public LightningAttention? Owner;
        public Phase Phase;
        public float* Q, K, V, State, Output, QTilde, KTilde;
        public int InputStride, OutputStride, Tokens, Items;
        public long Position;

        public void Execute(int workerIndex, int workerCount)
        {
            var (start, end) = WorkerPool.Partition(Items, workerIndex, workerCount);
            var owner = Owner!;
            for (int item = start; item < end; item++)
            {
                switch (Phase)
                {
                    case Phase.Step: owner.StepHead(this, item); break;
                    case Phase.Expand: owner.ExpandHead(this, item); break;
                    case Phase.Output: owner.OutputRows(this, item); break;
                    default: owner.UpdateRow(this, item); break;
                }
            }
        }
    }

    /// <summary>Writes head <paramref name="h"/>'s q̃ and k̃ for one token at absolute position <paramref name="p"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ExpandToken(int h, long p, float* q, float* k, float* qt, float* kt)
    {
        int d = HeadSize;
        if (!UsesLrpe)
        {
            new ReadOnlySpan<float>(q, d).CopyTo(new Span<float>(qt, d));
            new ReadOnlySpan<float>(k, d).CopyTo(new Span<float>(kt, d));
            return;
        }
        int thetaOffset = h * d;
        for (int i = 0; i < d; i++)
        {
            // Lrpe: [x·cos(θp), x·sin(θp)], the angle in double so large positions keep their phase.
            var (sin, cos) = Math.SinCos(_theta[thetaOffset + i] * (double)p);
            float c = (float)cos, s = (float)sin;
            qt[i] = q[i] * c; qt[d + i] = q[i] * s;
            kt[i] = k[i] * c; kt[d + i] = k[i] * s;
        }
    }

    private void StepHead(Job job, int h)
    {
        int d = HeadSize, ks = KeySize;
        long headOffset = (long)h * d;
        float* qt = job.QTilde + (long)h * ks, kt = job.KTilde + (long)h * ks;
        ExpandToken(h, job.Position, job.Q + headOffset, job.K + headOffset, qt, kt);
        float decay = _decay[h * (PrefillBlock + 1) + 1];
        float* v = job.V + headOffset, o = job.Output + headOffset, kv = job.State + (long)h * ks * d;
        new Span<float>(o, d).Clear();
        for (int r = 0; r < ks; r++, kv += d)
        {
            // KV_t = e^{−λ} KV_{t−1} + k̃ᵀv;  o = q̃ KV_t
            ScaleAdd(kv, decay, kt[r], v, d);
            Axpy(o, qt[r], kv, d);
        }
    }

    private void ExpandHead(Job job, int h)
    {
        long blockOffset = (long)h * PrefillBlock * KeySize, headOffset = (long)h * HeadSize;
        for (int t = 0; t < job.Tokens; t++)
        {
            long inOffset = (long)t * job.InputStride + headOffset, outOffset = blockOffset + (long)t * KeySize;
            ExpandToken(h, job.Position + t, job.Q + inOffset, job.K + inOffset, job.QTilde + outOffset, job.KTilde + outOffset);
        }
    }

    /// <summary>Block outputs for one head and a chunk of query rows: intra-block masked product plus the inter-block term.</summary>
    private void OutputRows(Job job, int item)
    {
        int chunks = (job.Tokens + RowChunk - 1) / RowChunk;
        int h = item / chunks, i0 = item % chunks * RowChunk, i1 = Math.Min(job.Tokens, i0 + RowChunk);
        int d = HeadSize, ks = KeySize, window = _window[h];
        float* e = Decays(h);
        float* qBase = job.QTilde + (long)h * PrefillBlock * ks, kBase = job.KTilde + (long)h * PrefillBlock * ks;
        float* kv = job.State + (long)h * ks * d;
        long headOffset = (long)h * d;
        for (int i = i0; i < i1; i++)
        {
            float* qi = qBase + (long)i * ks, o = job.Output + (long)i * job.OutputStride + headOffset;
            new Span<float>(o, d).Clear();
            // inter: (q̃_i ⊙ e^{−λ(i+1)}) KV_prev
            if (i + 1 < window)
            {
                float scale = e[i + 1];
                for (int r = 0; r < ks; r++) Axpy(o, scale * qi[r], kv + (long)r * d, d);
            }
            // intra: Σ_{j ≤ i} e^{−λ(i−j)} (q̃_i·k̃_j) v_j
            for (int j = Math.Max(0, i - window + 1); j <= i; j++)
            {
                float s = Dot.F32(qi, kBase + (long)j * ks, ks) * e[i - j];
                Axpy(o, s, job.V + (long)j * job.InputStride + headOffset, d);
            }
        }
    }

    /// <summary>One key row of one head's state: <c>KV[r] ← e^{−λm} KV[r] + Σ_j e^{−λ(m−1−j)} k̃_j[r] v_j</c>.</summary>
    private void UpdateRow(Job job, int item)
    {
        int ks = KeySize, d = HeadSize;
        int h = item / ks, r = item % ks, m = job.Tokens, window = _window[h];
        float* e = Decays(h);
        float* row = job.State + ((long)h * ks + r) * d;
        float* kBase = job.KTilde + (long)h * PrefillBlock * ks;
        long headOffset = (long)h * d;
        System.Numerics.Tensors.TensorPrimitives.Multiply(new ReadOnlySpan<float>(row, d), e[m], new Span<float>(row, d));
        for (int j = Math.Max(0, m - window); j < m; j++)
            Axpy(row, e[m - 1 - j] * kBase[(long)j * ks + r], job.V + (long)j * job.InputStride + headOffset, d);
    }

    // _decay lives on the pinned object heap, so its address is stable.
    private float* Decays(int h) => (float*)Unsafe.AsPointer(ref _decay[h * (PrefillBlock + 1)]);

    /// <summary><c>y ← y + a·x</c>.</summary>
    private static void Axpy(float* y, float a, float* x, int n)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var va = Vector256.Create(a);
            for (; i + 8 <= n; i += 8) Vector256.MultiplyAddEstimate(va, Vector256.Load(x + i), Vector256.Load(y + i)).Store(y + i);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            var va = Vector128.Create(a);
            for (; i + 4 <= n; i += 4) Vector128.MultiplyAddEstimate(va, Vector128.Load(x + i), Vector128.Load(y + i)).Store(y + i);
        }
        for (; i < n; i++) y[i] += a * x[i];
    }

    /// <summary><c>y ← decay·y + a·x</c>.</summary>
    private static void ScaleAdd(float* y, float decay, float a, float* x, int n)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> vd = Vector256.Create(decay), va = Vector256.Create(a);
            for (; i + 8 <= n; i += 8) Vector256.MultiplyAddEstimate(va, Vector256.Load(x + i), Vector256.Load(y + i) * vd).Store(y + i);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            Vector128<float> vd = Vector128.Create(decay), va = Vector128.Create(a);
            for (; i + 4 <= n; i += 4) Vector128.MultiplyAddEstimate(va, Vector128.Load(x + i), Vector128.Load(y + i) * vd).Store(y + i);
        }
        for (; i < n; i++) y[i] = y[i] * decay + a * x[i];
    }

    /// <summary>Naive quadratic form from an empty state, in double: <c>o_t = Σ_{s≤t} e^{−λ(t−s)} (q̃_t·k̃_s) v_s</c>.</summary>
    /// <param name="q">Activated queries <c>(tokens, HeadCount·HeadSize)</c>.</param>
    /// <param name="k">Activated keys, same shape.</param>
    /// <param name="v">Values, same shape.</param>
    /// <param name="tokens">Token count.</param>
    /// <param name="position">Absolute position of the first token (LRPE).</param>
    /// <param name="output">Outputs, same shape.</param>
    /// <remarks>The <c>linear_attn(q, k, v, s)</c> of OpenNLPLab/lightning-attention@d15c385
    /// lightning_attn/ops/torch/linear_attention.py, with q̃, k̃ from <c>Lrpe</c>. O(tokens²); for tests.</remarks>
    internal void Reference(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, int tokens, long position, Span<float> output)
    {
        int d = HeadSize, ks = KeySize, width = HeadCount * d;
        var qt = new double[tokens * ks];
        var kt = new double[tokens * ks];
        for (int h = 0; h < HeadCount; h++)
        {
            for (int t = 0; t < tokens; t++)
            {
                for (int i = 0; i < d; i++)
                {
                    double qv = q[t * width + h * d + i], kv = k[t * width + h * d + i];
                    if (!UsesLrpe)
                    {
                        qt[t * ks + i] = qv;
                        kt[t * ks + i] = kv;
                        continue;
                    }
                    double angle = _theta[h * d + i] * (double)(position + t);
                    qt[t * ks + i] = qv * Math.Cos(angle); qt[t * ks + d + i] = qv * Math.Sin(angle);
                    kt[t * ks + i] = kv * Math.Cos(angle); kt[t * ks + d + i] = kv * Math.Sin(angle);
                }
            }
            for (int t = 0; t < tokens; t++)
            {
                for (int c = 0; c < d; c++)
                {
                    double sum = 0;
                    for (int s = 0; s <= t; s++)
                    {
                        double qk = 0;
                        for (int i = 0; i < ks; i++) qk += qt[t * ks + i] * kt[s * ks + i];
                        sum += Math.Exp(-_slopes[h] * (t - s)) * qk * v[s * width + h * d + c];
                    }
                    output[t * width + h * d + c] = (float)sum;
                }
            }
        }
    }
}
