using System.Numerics.Tensors;
using EdgeRuntime.Core;
using EdgeRuntime.Core.Kernels;
using EdgeRuntime.Core.Tensors;
using EdgeRuntime.Core.Threading;
using EdgeRuntime.Models.Formats;

namespace EdgeRuntime.Models.Mechanisms;

/// <summary>BASED linear attention: causal attention with the 2nd-order Taylor kernel <c>1 + s + s²/2</c> in place of <c>exp(s)</c>.</summary>
/// <remarks>
/// Arora et al. 2024, "Simple linear attention language models balance the recall-throughput tradeoff" (BASED), §4.1.
/// Reference: HazyResearch/based@32c1bd4 based/models/mixers/linear_attention.py (<c>LinearAttention</c>, <c>TaylorExp</c>).
/// Per head, with <c>s_ij = q_i·k_j/√f</c> and <c>A_ij = 1 + s_ij + s_ij²/2 = φ(q_i)·φ(k_j)</c>:
/// <code>y_i = Σ_{j≤i} A_ij v_j / (Σ_{j≤i} A_ij + eps)</code>
/// The reference's <c>φ(x) = [1, x/⁴√f, vec(xxᵀ)/(√2·√f)]</c> has <c>1 + f + f²</c> features; this type uses the
/// symmetric map with <c>D = 1 + f + f(f+1)/2</c> features (<c>x_i²/(√2·√f)</c> on the diagonal, <c>x_i x_j/√f</c> for
/// <c>i &lt; j</c>), whose inner products are the same. Recurrent state per head: <c>S = Σ φ(k_j) v_jᵀ</c>
/// <c>(D, headSize)</c> then <c>z = Σ φ(k_j)</c> <c>(D)</c>; zeros initially.
/// <see cref="Prefill"/> is chunked: the intra-chunk scores come from <c>q·k</c> directly, the earlier tokens through
/// <c>φ(q)·S</c> and <c>φ(q)·z</c>, and the chunk is then folded into <c>S</c>, <c>z</c> token by token (as Step does).
/// Immutable after loading; safe to share. Each call needs its own state and scratch.
/// </remarks>
public sealed class BasedLinearAttention
{
    private readonly WeightMatrix _q;    // (heads·featureSize, hidden)
    private readonly WeightMatrix _k;    // (heads·featureSize, hidden)
    private readonly WeightMatrix _v;    // (heads·headSize, hidden)
    private readonly WeightMatrix _out;  // (hidden, heads·headSize)
    private readonly float _linearScale, _squareScale, _crossScale;  // 1/⁴√f, 1/(√2·√f), 1/√f
    private readonly float _eps;

    private BasedLinearAttention(WeightMatrix q, WeightMatrix k, WeightMatrix v, WeightMatrix output, int heads, int featureSize, int headSize, double eps)
    {
        _q = q;
        _k = k;
        _v = v;
        _out = output;
        HeadCount = heads;
        FeatureSize = featureSize;
        HeadSize = headSize;
        ExpandedSize = 1 + featureSize + featureSize * (featureSize + 1) / 2;
        double rd = Math.Sqrt(featureSize);
        _linearScale = (float)(1.0 / Math.Sqrt(rd));
        _squareScale = (float)(1.0 / (Math.Sqrt(2.0) * rd));
        _crossScale = (float)(1.0 / rd);
        _eps = (float)eps;
    }

    /// <summary>Heads.</summary>
    public int HeadCount { get; }

    /// <summary>Query/key features per head <c>f</c>.</summary>
    public int FeatureSize { get; }

    /// <summary>Value dims per head.</summary>
    public int HeadSize { get; }

    /// <summary>Taylor features per head <c>D = 1 + f + f(f+1)/2</c>.</summary>
    public int ExpandedSize { get; }

    /// <summary>Model width.</summary>
    public int HiddenSize => _out.Rows;

    /// <summary>Floats of state: <c>heads·(D·headSize + D)</c>.</summary>
    public int StateLength => HeadCount * HeadStateLength;

    private int HeadStateLength => ExpandedSize * HeadSize + ExpandedSize;

    /// <summary>Floats of scratch for <paramref name="tokens"/> tokens (Step: 1) split over <paramref name="workers"/> workers.</summary>
    public int ScratchLength(int tokens, int workers = 1) =>
        tokens * (2 * HeadCount * FeatureSize + 2 * HeadCount * HeadSize) + Math.Max(1, workers) * WorkerScratchLength;

    /// <summary>Per-worker floats: two feature rows and one accumulator.</summary>
    private int WorkerScratchLength => 2 * ExpandedSize + HeadSize;

    /// <summary>Loads <c>{prefix}.proj_q</c>, <c>proj_k</c>, <c>proj_v</c> and <c>out_proj</c> (no biases).</summary>
    /// <param name="weights">Source of the tensors.</param>
    /// <param name="prefix">E.g. <c>transformer.layers.1.mixer</c>.</param>
    /// <param name="hiddenSize">Model width.</param>
    /// <param name="heads">Heads.</param>
    /// <param name="featureSize">Query/key features per head.</param>
    /// <param name="headSize">Value dims per head.</param>
    /// <param name="eps">Denominator epsilon.</param>
    /// <exception cref="ModelFormatException">A tensor is missing or has the wrong shape.</exception>
    public static BasedLinearAttention Load(WeightSource weights, string prefix, int hiddenSize, int heads, int featureSize, int headSize, double eps)
    {
        string hint = $"n_embd {hiddenSize}, num_heads {heads}, feature_dim {featureSize}, head size {headSize} from config";
        var q = weights.Matrix($"{prefix}.proj_q.weight", heads * featureSize, hiddenSize, hint);
        var k = weights.Matrix($"{prefix}.proj_k.weight", heads * featureSize, hiddenSize, hint);
        var v = weights.Matrix($"{prefix}.proj_v.weight", heads * headSize, hiddenSize, hint);
        var o = weights.Matrix($"{prefix}.out_proj.weight", hiddenSize, heads * headSize, hint);
        foreach (var name in (ReadOnlySpan<string>)["proj_q", "proj_k", "proj_v", "out_proj"])
            if (weights.Contains($"{prefix}.{name}.bias")) throw weights.Error($"tensor '{prefix}.{name}.bias' is present but LinearAttention has no biases");
        return new BasedLinearAttention(q, k, v, o, heads, featureSize, headSize, eps);
    }

    /// <summary>Recurrent form: one token. Allocates nothing.</summary>
    /// <param name="pool">Workers for the projections.</param>
    /// <param name="x">Input, <see cref="HiddenSize"/> floats.</param>
    /// <param name="state">This layer's <see cref="StateLength"/> floats, updated in place.</param>
    /// <param name="y">Output, <see cref="HiddenSize"/> floats.</param>
    /// <param name="scratch"><see cref="ScratchLength"/>(1) floats.</param>
    public void Step(WorkerPool pool, ReadOnlySpan<float> x, Span<float> state, Span<float> y, Span<float> scratch)
    {
        CheckLengths(state, scratch, 1, 1);
        var b = new Buffers(this, scratch, 1);

        // 1. Project q, k, v.
        Linear.Forward(pool, _q, default, x, b.Q);
        Linear.Forward(pool, _k, default, x, b.K);
        Linear.Forward(pool, _v, default, x, b.V);

        // 2. Per head: S += φ(k)vᵀ, z += φ(k); y = φ(q)S / (φ(q)·z + eps), heads split across the pool when the scratch
        //    has room for every worker's feature rows (the state, D·headSize floats per head, is the memory traffic here).
        bool parallel = pool.WorkerCount > 1 && HeadCount > 1 && scratch.Length >= ScratchLength(1, pool.WorkerCount);
        HeadJob.Run(pool, this, b, 1, state, scratch[b.WorkerStart..], step: true, parallel);

        // 3. Output projection.
        Linear.Forward(pool, _out, default, b.O, y);
    }

    /// <summary>One head of <see cref="Step"/>, in one pass over the rows of <c>S</c>.</summary>
    private void StepHead(int h, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> o, Span<float> state,
        Span<float> phiQ, Span<float> phiK, Span<float> num)
    {
        int f = FeatureSize, hd = HeadSize, dx = ExpandedSize;
        var s = state.Slice(h * HeadStateLength, dx * hd);
        var z = state.Slice(h * HeadStateLength + dx * hd, dx);
        var vh = v.Slice(h * hd, hd);
        FeatureMap(q.Slice(h * f, f), phiQ);
        FeatureMap(k.Slice(h * f, f), phiK);
        num.Clear();
        double den = 0;
        for (int r = 0; r < dx; r++)
        {
            var row = s.Slice(r * hd, hd);
            TensorPrimitives.MultiplyAdd(vh, phiK[r], row, row);
            z[r] += phiK[r];
            TensorPrimitives.MultiplyAdd(row, phiQ[r], num, num);
            den += (double)phiQ[r] * z[r];
        }
        TensorPrimitives.Multiply(num, (float)(1.0 / (den + _eps)), o.Slice(h * hd, hd));
    }

    /// <summary>Chunked parallel form over <paramref name="tokens"/> tokens; equal to that many <see cref="Step"/> calls.</summary>
    /// <param name="pool">Workers for the projections.</param>
    /// <param name="x">Inputs <c>(tokens, HiddenSize)</c>.</param>
    /// <param name="tokens">Token count (the chunk).</param>
    /// <param name="state">This layer's state, updated in place.</param>
    /// <param name="y">Outputs <c>(tokens, HiddenSize)</c>; must not overlap x.</param>
    /// <param name="scratch"><see cref="ScratchLength"/>(tokens, pool.WorkerCount) floats; heads are split across the pool.</param>
    public void Prefill(WorkerPool pool, ReadOnlySpan<float> x, int tokens, Span<float> state, Span<float> y, Span<float> scratch)
    {
        CheckLengths(state, scratch, tokens, pool.WorkerCount);
        var b = new Buffers(this, scratch, tokens);

        // 1. Project q, k, v for the whole chunk.
        Linear.Forward(pool, _q, default, x, b.Q, tokens);
        Linear.Forward(pool, _k, default, x, b.K, tokens);
        Linear.Forward(pool, _v, default, x, b.V, tokens);

        // 2–3. Attention and state update, heads split across the pool (a few tokens are not worth waking the workers).
        HeadJob.Run(pool, this, b, tokens, state, scratch[b.WorkerStart..], step: false, parallel: tokens >= 8);

        // 4. Output projection.
        Linear.Forward(pool, _out, default, b.O, y, tokens);
    }

    /// <summary>One head of <see cref="Prefill"/>: the chunk's outputs, then the chunk folded into the head's <c>S</c> and <c>z</c>.</summary>
    private void PrefillHead(int h, int tokens, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> o,
        Span<float> state, Span<float> phi, Span<float> num)
    {
        int f = FeatureSize, hd = HeadSize, dx = ExpandedSize, qw = HeadCount * f, vw = HeadCount * hd;
        var s = state.Slice(h * HeadStateLength, dx * hd);
        var z = state.Slice(h * HeadStateLength + dx * hd, dx);

        // 2. Each query: earlier chunks through φ(q)·S and φ(q)·z, this chunk through A_ij = 1 + s + s²/2.
        for (int i = 0; i < tokens; i++)
        {
            var qi = q.Slice(i * qw + h * f, f);
            FeatureMap(qi, phi);
            num.Clear();
            double den = 0;
            for (int r = 0; r < dx; r++)
            {
                TensorPrimitives.MultiplyAdd(s.Slice(r * hd, hd), phi[r], num, num);
                den += (double)phi[r] * z[r];
            }
            for (int j = 0; j <= i; j++)
            {
                float sc = TensorPrimitives.Dot(qi, k.Slice(j * qw + h * f, f)) * _crossScale;
                float a = 1f + sc + 0.5f * sc * sc;
                TensorPrimitives.MultiplyAdd(v.Slice(j * vw + h * hd, hd), a, num, num);
                den += a;
            }
            TensorPrimitives.Multiply(num, (float)(1.0 / (den + _eps)), o.Slice(i * vw + h * hd, hd));
        }

        // 3. Fold the chunk into the state in token order, as Step does: S += φ(k_j)v_jᵀ, z += φ(k_j).
        for (int j = 0; j < tokens; j++)
        {
            FeatureMap(k.Slice(j * qw + h * f, f), phi);
            var vj = v.Slice(j * vw + h * hd, hd);
            for (int r = 0; r < dx; r++)
            {
                var row = s.Slice(r * hd, hd);
                TensorPrimitives.MultiplyAdd(vj, phi[r], row, row);
                z[r] += phi[r];
            }
        }
    }

    /// <summary>Splits <see cref="StepHead"/> or <see cref="PrefillHead"/> over the pool's workers by heads; one reusable
    /// instance per calling thread.</summary>
    private sealed unsafe class HeadJob : IParallelJob
    {
        [ThreadStatic] private static HeadJob? t_job;
        private BasedLinearAttention? _owner;
        private float* _q, _k, _v, _o, _state, _work;
        private int _tokens;
        private bool _step;

        public static void Run(WorkerPool pool, BasedLinearAttention owner, Buffers b, int tokens, Span<float> state, Span<float> work, bool step, bool parallel)
        {
            fixed (float* q = b.Q, k = b.K, v = b.V, o = b.O, s = state, w = work)
            {
                var job = t_job ??= new HeadJob();
                job._owner = owner;
                job._q = q; job._k = k; job._v = v; job._o = o; job._state = s; job._work = w; job._tokens = tokens; job._step = step;
                if (!parallel || pool.WorkerCount == 1 || owner.HeadCount == 1) job.Execute(0, 1);
                else pool.Run(job);
                job._owner = null;
            }
        }

        public void Execute(int workerIndex, int workerCount)
        {
            var m = _owner!;
            var (h0, h1) = WorkerPool.Partition(m.HeadCount, workerIndex, workerCount);
            int qn = _tokens * m.HeadCount * m.FeatureSize, vn = _tokens * m.HeadCount * m.HeadSize, dx = m.ExpandedSize;
            var work = new Span<float>(_work + (long)workerIndex * m.WorkerScratchLength, m.WorkerScratchLength);
            var q = new ReadOnlySpan<float>(_q, qn);
            var k = new ReadOnlySpan<float>(_k, qn);
            var v = new ReadOnlySpan<float>(_v, vn);
            var o = new Span<float>(_o, vn);
            var state = new Span<float>(_state, m.StateLength);
            for (int h = h0; h < h1; h++)
            {
                if (_step) m.StepHead(h, q, k, v, o, state, work[..dx], work.Slice(dx, dx), work.Slice(2 * dx, m.HeadSize));
                else m.PrefillHead(h, _tokens, q, k, v, o, state, work[..dx], work.Slice(2 * dx, m.HeadSize));
            }
        }
    }

    /// <summary>The symmetric Taylor feature map: <c>[1, x/⁴√f, x_i²/(√2·√f), x_i x_j/√f (i &lt; j)]</c>, <see cref="ExpandedSize"/> floats.</summary>
    internal void FeatureMap(ReadOnlySpan<float> x, Span<float> phi)
    {
        int f = FeatureSize;
        phi[0] = 1f;
        for (int i = 0; i < f; i++) phi[1 + i] = x[i] * _linearScale;
        int p = 1 + f;
        for (int i = 0; i < f; i++)
        {
            float xi = x[i];
            phi[p++] = xi * xi * _squareScale;
            float c = xi * _crossScale;
            for (int j = i + 1; j < f; j++) phi[p++] = c * x[j];
        }
    }

    /// <summary>Naive quadratic form in double for one head over a whole sequence: <c>y_i = Σ_{j≤i} A_ij v_j / (Σ_{j≤i} A_ij + eps)</c>.</summary>
    /// <param name="q">Queries <c>(tokens, f)</c>.</param>
    /// <param name="k">Keys <c>(tokens, f)</c>.</param>
    /// <param name="v">Values <c>(tokens, headSize)</c>.</param>
    /// <param name="tokens">Sequence length.</param>
    /// <param name="eps">Denominator epsilon.</param>
    /// <param name="y">Outputs <c>(tokens, headSize)</c>.</param>
    /// <remarks>linear_attention.py <c>parallel_forward</c>, "quadratic" branch; for tests.</remarks>
    internal static void ReferenceQuadratic(ReadOnlySpan<double> q, ReadOnlySpan<double> k, ReadOnlySpan<double> v, int tokens, double eps, Span<double> y)
    {
        int f = q.Length / tokens, hd = v.Length / tokens;
        for (int i = 0; i < tokens; i++)
        {
            double den = 0;
            var acc = y.Slice(i * hd, hd);
            acc.Clear();
            for (int j = 0; j <= i; j++)
            {
                double s = 0;
                for (int c = 0; c < f; c++) s += q[i * f + c] * k[j * f + c];
                s /= Math.Sqrt(f);
                double a = 1 + s + s * s / 2;
                den += a;
                for (int c = 0; c < hd; c++) acc[c] += a * v[j * hd + c];
            }
            for (int c = 0; c < hd; c++) acc[c] /= den + eps;
        }
    }

    private void CheckLengths(Span<float> state, Span<float> scratch, int tokens, int workers)
    {
        if (state.Length < StateLength) ThrowHelper.TooShort(nameof(state), state.Length, StateLength);
        if (scratch.Length < ScratchLength(tokens, workers)) ThrowHelper.TooShort(nameof(scratch), scratch.Length, ScratchLength(tokens, workers));
    }

    /// <summary>Views of one call's scratch: q, k <c>(tokens, heads·f)</c>, v and outputs <c>(tokens, heads·headSize)</c>, then per
    /// worker two feature rows and one accumulator, from <see cref="WorkerStart"/>.</summary>
    private readonly ref struct Buffers
    {
        public readonly Span<float> Q, K, V, O;
        public readonly int WorkerStart;  // first float of the per-worker blocks

        public Buffers(BasedLinearAttention m, Span<float> scratch, int tokens)
        {
            int qn = tokens * m.HeadCount * m.FeatureSize, vn = tokens * m.HeadCount * m.HeadSize;
            Q = scratch[..qn];
            K = scratch.Slice(qn, qn);
            V = scratch.Slice(2 * qn, vn);
            O = scratch.Slice(2 * qn + vn, vn);
            WorkerStart = 2 * qn + 2 * vn;
        }
    }
}
