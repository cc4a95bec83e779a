using System.Numerics.Tensors;
using EdgeRuntime.Core;
using EdgeRuntime.Core.Kernels;
using EdgeRuntime.Core.Tensors;
using EdgeRuntime.Core.Threading;
using EdgeRuntime.Models.Formats;

namespace EdgeRuntime.Models.Mechanisms;

/// <summary>Causal softmax attention over a sliding window, with rotary positions and grouped key/value heads, kept in a ring buffer.</summary>
/// <remarks>
/// Arora et al. 2024, "Simple linear attention language models balance the recall-throughput tradeoff" (BASED), §4.2.
/// Reference: HazyResearch/based@32c1bd4 based/models/mixers/slide_attention.py (<c>SlidingAttention</c>: flash-attn with
/// <c>window_size=(w//2, 0)</c>). Query <c>t</c> attends keys <c>max(0, t − w/2) .. t</c>:
/// <code>
/// q, k, v = split(Wqkv·x);  q, k ← rotary(q, k, position t)
/// y_h = Σ_j softmax_j(scale · q_h·k_{j,g(h)}) v_{j,g(h)},   g(h) = h / (heads / kvHeads)
/// </code>
/// State: a ring of exactly <see cref="WindowPositions"/> = <c>w/2 + 1</c> slots of rotated keys, then the same of values,
/// each slot <c>(kvHeads, headSize)</c>; position <c>p</c> lives in slot <c>p mod WindowPositions</c>. The caller keeps the
/// position. Zeros initially. Immutable after loading; safe to share. Each call needs its own state and scratch.
/// </remarks>
public sealed class SlidingWindowAttention
{
    private readonly WeightMatrix _qkv;   // ((heads + 2·kvHeads)·headSize, hidden): q rows, then k, then v
    private readonly float[] _qkvBias;    // empty or (heads + 2·kvHeads)·headSize
    private readonly WeightMatrix _out;   // (hidden, heads·headSize)
    private readonly float[] _outBias;    // empty or hidden
    private readonly float _scale;
    private readonly double _rotaryBase;

    private SlidingWindowAttention(WeightMatrix qkv, float[] qkvBias, WeightMatrix output, float[] outBias, int heads, int kvHeads,
        int windowSize, int rotaryDim, double rotaryBase, bool interleaved, double scale)
    {
        _qkv = qkv;
        _qkvBias = qkvBias;
        _out = output;
        _outBias = outBias;
        HeadCount = heads;
        KvHeadCount = kvHeads;
        HeadSize = output.Cols / heads;
        WindowSize = windowSize;
        WindowPositions = windowSize / 2 + 1;
        RotaryDim = rotaryDim;
        RotaryInterleaved = interleaved;
        _rotaryBase = rotaryBase;
        _scale = (float)scale;
    }

    /// <summary>Query heads.</summary>
    public int HeadCount { get; }

    /// <summary>Key/value heads (a divisor of <see cref="HeadCount"/>).</summary>
    public int KvHeadCount { get; }

    /// <summary>Dims per head.</summary>
    public int HeadSize { get; }

    /// <summary>Configured window <c>w</c>.</summary>
    public int WindowSize { get; }

    /// <summary>Positions a query sees, itself included, and the ring's slot count: <c>w/2 + 1</c>.</summary>
    public int WindowPositions { get; }

    /// <summary>Rotated dims at the start of each q/k head (0 = no rotary).</summary>
    public int RotaryDim { get; }

    /// <summary>GPT-J interleaved pairs <c>(2i, 2i+1)</c> instead of NeoX halves.</summary>
    public bool RotaryInterleaved { get; }

    /// <summary>Model width.</summary>
    public int HiddenSize => _out.Rows;

    private int KvWidth => KvHeadCount * HeadSize;

    private int QkvWidth => (HeadCount + 2 * KvHeadCount) * HeadSize;

    /// <summary>Floats of state: keys then values, <c>2·WindowPositions·kvHeads·headSize</c>.</summary>
    public int StateLength => 2 * WindowPositions * KvWidth;

    /// <summary>Floats of scratch for <paramref name="tokens"/> tokens (Step: 1) split over <paramref name="workers"/> workers.</summary>
    public int ScratchLength(int tokens, int workers = 1) => tokens * (QkvWidth + HeadCount * HeadSize) + RotaryDim + Math.Max(1, workers) * WindowPositions;

    /// <summary>Loads <c>{prefix}.Wqkv</c> and <c>{prefix}.out_proj</c>.</summary>
    /// <param name="weights">Source of the tensors.</param>
    /// <param name="prefix">E.g. <c>transformer.layers.2.mixer</c>.</param>
    /// <param name="hiddenSize">Model width (a multiple of <paramref name="heads"/>).</param>
    /// <param name="heads">Query heads.</param>
    /// <param name="kvHeads">Key/value heads.</param>
    /// <param name="windowSize">Window <c>w</c>.</param>
    /// <param name="rotaryDim">Rotated dims per head (even).</param>
    /// <param name="rotaryBase">Rotary θ.</param>
    /// <param name="interleaved">Interleaved rotary pairs.</param>
    /// <param name="scale">Softmax scale.</param>
    /// <param name="qkvBias">Whether <c>Wqkv</c> has a bias.</param>
    /// <param name="outBias">Whether <c>out_proj</c> has a bias.</param>
    /// <exception cref="ModelFormatException">A tensor is missing or has the wrong shape.</exception>
    public static SlidingWindowAttention Load(WeightSource weights, string prefix, int hiddenSize, int heads, int kvHeads, int windowSize,
        int rotaryDim, double rotaryBase, bool interleaved, double scale, bool qkvBias, bool outBias)
    {
        int hd = hiddenSize / heads;
        string hint = $"n_embd {hiddenSize}, n_head {heads}, n_head_kv {kvHeads} from config";
        var qkv = weights.Matrix($"{prefix}.Wqkv.weight", (heads + 2 * kvHeads) * hd, hiddenSize, hint);
        var qkvB = weights.OptionalVector($"{prefix}.Wqkv.bias", (heads + 2 * kvHeads) * hd, qkvBias, hint);
        var o = weights.Matrix($"{prefix}.out_proj.weight", hiddenSize, heads * hd, hint);
        var oB = weights.OptionalVector($"{prefix}.out_proj.bias", hiddenSize, outBias, hint);
        return new SlidingWindowAttention(qkv, qkvB, o, oB, heads, kvHeads, windowSize, rotaryDim, rotaryBase, interleaved, scale);
    }

    /// <summary>Recurrent form: one token at <paramref name="position"/>. Allocates nothing.</summary>
    /// <param name="pool">Workers for the projections.</param>
    /// <param name="x">Input, <see cref="HiddenSize"/> floats.</param>
    /// <param name="position">Absolute position of this token (tokens seen before it).</param>
    /// <param name="state">This layer's <see cref="StateLength"/> floats, updated in place.</param>
    /// <param name="y">Output, <see cref="HiddenSize"/> floats.</param>
    /// <param name="scratch"><see cref="ScratchLength"/>(1) floats.</param>
    public void Step(WorkerPool pool, ReadOnlySpan<float> x, long position, Span<float> state, Span<float> y, Span<float> scratch)
    {
        int kvw = KvWidth;
        CheckLengths(state, scratch, 1, 1);
        var b = new Buffers(this, scratch, 1);
        var keys = state[..(WindowPositions * kvw)];
        var values = state.Slice(WindowPositions * kvw, WindowPositions * kvw);

        // 1. Project and rotate, then store k, v in this position's slot (it held position − WindowPositions, now outside).
        Linear.Forward(pool, _qkv, _qkvBias, x, b.Qkv);
        RotateToken(b.Qkv, position, b.Cos, b.Sin);
        int slot = (int)(position % WindowPositions);
        b.Qkv.Slice(HeadCount * HeadSize, kvw).CopyTo(keys.Slice(slot * kvw, kvw));
        b.Qkv.Slice(HeadCount * HeadSize + kvw, kvw).CopyTo(values.Slice(slot * kvw, kvw));

        // 2. Each head: softmax over positions first..position of the ring (PrefillHead with one token), heads split across
        //    the pool once the window holds enough positions to be worth it and the scratch has room for every worker.
        long count = Math.Min(position + 1, WindowPositions);
        bool parallel = pool.WorkerCount > 1 && HeadCount > 1 && count * HeadCount >= 512 && scratch.Length >= ScratchLength(1, pool.WorkerCount);
        HeadJob.Run(pool, this, b, 1, position, state, scratch[b.WorkerStart..], parallel);

        // 3. Output projection.
        Linear.Forward(pool, _out, _outBias, b.Context, y);
    }

    /// <summary>Chunked parallel form over <paramref name="tokens"/> tokens starting at <paramref name="position"/>; equal to that many <see cref="Step"/> calls.</summary>
    /// <param name="pool">Workers for the projections.</param>
    /// <param name="x">Inputs <c>(tokens, HiddenSize)</c>.</param>
    /// <param name="tokens">Token count (the chunk).</param>
    /// <param name="position">Absolute position of the first token.</param>
    /// <param name="state">This layer's state, updated in place.</param>
    /// <param name="y">Outputs <c>(tokens, HiddenSize)</c>; must not overlap x.</param>
    /// <param name="scratch"><see cref="ScratchLength"/>(tokens, pool.WorkerCount) floats; heads are split across the pool.</param>
    public void Prefill(WorkerPool pool, ReadOnlySpan<float> x, int tokens, long position, Span<float> state, Span<float> y, Span<float> scratch)
    {
        int kvw = KvWidth, qw = QkvWidth, cw = HeadCount * HeadSize, ring = WindowPositions;
        CheckLengths(state, scratch, tokens, pool.WorkerCount);
        var b = new Buffers(this, scratch, tokens);
        var keys = state[..(ring * kvw)];
        var values = state.Slice(ring * kvw, ring * kvw);

        // 1. Project the chunk and rotate each token at its absolute position.
        Linear.Forward(pool, _qkv, _qkvBias, x, b.Qkv, tokens);
        for (int i = 0; i < tokens; i++) RotateToken(b.Qkv.Slice(i * qw, qw), position + i, b.Cos, b.Sin);

        // 2. Banded softmax per head, heads split across the pool (the ring is only read here; a few tokens are not worth
        //    waking the workers).
        HeadJob.Run(pool, this, b, tokens, position, state, scratch[b.WorkerStart..], parallel: tokens >= 8);

        // 3. Store the chunk's last (up to) WindowPositions keys and values in the ring.
        for (int i = Math.Max(0, tokens - ring); i < tokens; i++)
        {
            int slot = (int)((position + i) % ring);
            b.Qkv.Slice(i * qw + cw, kvw).CopyTo(keys.Slice(slot * kvw, kvw));
            b.Qkv.Slice(i * qw + cw + kvw, kvw).CopyTo(values.Slice(slot * kvw, kvw));
        }

        // 4. Output projection.
        Linear.Forward(pool, _out, _outBias, b.Context, y, tokens);
    }

    /// <summary>One head of <see cref="Prefill"/>: positions before the chunk come from the ring, the rest from the chunk itself.</summary>
    private void PrefillHead(int h, int tokens, long position, ReadOnlySpan<float> qkv, ReadOnlySpan<float> state, Span<float> context, Span<float> scores)
    {
        int hd = HeadSize, kvw = KvWidth, qw = QkvWidth, cw = HeadCount * hd, ring = WindowPositions, g = h / (HeadCount / KvHeadCount);
        var keys = state[..(ring * kvw)];
        var values = state.Slice(ring * kvw, ring * kvw);
        for (int i = 0; i < tokens; i++)
        {
            long p = position + i, first = Math.Max(0, p - ring + 1);
            int count = (int)(p - first + 1);
            var qh = qkv.Slice(i * qw + h * hd, hd);
            for (int m = 0; m < count; m++)
            {
                long pos = first + m;
                var key = pos >= position
                    ? qkv.Slice((int)(pos - position) * qw + cw + g * hd, hd)
                    : keys.Slice((int)(pos % ring) * kvw + g * hd, hd);
                scores[m] = TensorPrimitives.Dot(qh, key) * _scale;
            }
            var pr = scores[..count];
            Softmax.Forward(pr, pr);
            var oh = context.Slice(i * cw + h * hd, hd);
            oh.Clear();
            for (int m = 0; m < count; m++)
            {
                long pos = first + m;
                var value = pos >= position
                    ? qkv.Slice((int)(pos - position) * qw + cw + kvw + g * hd, hd)
                    : values.Slice((int)(pos % ring) * kvw + g * hd, hd);
                TensorPrimitives.MultiplyAdd(value, pr[m], oh, oh);
            }
        }
    }

    /// <summary>Splits <see cref="PrefillHead"/> over the pool's workers by heads; one reusable instance per calling thread.</summary>
    private sealed unsafe class HeadJob : IParallelJob
    {
        [ThreadStatic] private static HeadJob? t_job;
        private SlidingWindowAttention? _owner;
        private float* _qkv, _context, _state, _work;
        private int _tokens;
        private long _position;

        public static void Run(WorkerPool pool, SlidingWindowAttention owner, Buffers b, int tokens, long position, Span<float> state, Span<float> work, bool parallel)
        {
            fixed (float* qkv = b.Qkv, c = b.Context, s = state, w = work)
            {
                var job = t_job ??= new HeadJob();
                job._owner = owner;
                job._qkv = qkv; job._context = c; job._state = s; job._work = w; job._tokens = tokens; job._position = position;
                if (!parallel || pool.WorkerCount == 1 || owner.HeadCount == 1) job.Execute(0, 1);
                else pool.Run(job);
                job._owner = null;
            }
        }

        public void Execute(int workerIndex, int workerCount)
        {
            var m = _owner!;
            var (h0, h1) = WorkerPool.Partition(m.HeadCount, workerIndex, workerCount);
            var qkv = new ReadOnlySpan<float>(_qkv, _tokens * m.QkvWidth);
            var context = new Span<float>(_context, _tokens * m.HeadCount * m.HeadSize);
            var state = new ReadOnlySpan<float>(_state, m.StateLength);
            var scores = new Span<float>(_work + (long)workerIndex * m.WindowPositions, m.WindowPositions);
            for (int h = h0; h < h1; h++) m.PrefillHead(h, _tokens, _position, qkv, state, context, scores);
        }
    }

    /// <summary>Applies rotary to every q and k head of one token's <c>qkv</c> row.</summary>
    private void RotateToken(Span<float> qkv, long position, Span<float> cos, Span<float> sin)
    {
        if (RotaryDim == 0) return;
        Rotary.Angles(position, RotaryDim, _rotaryBase, cos, sin);
        for (int h = 0; h < HeadCount + KvHeadCount; h++)
        {
            var head = qkv.Slice(h * HeadSize, HeadSize);
            if (RotaryInterleaved) ApplyInterleaved(head, cos, sin);
            else Rotary.ApplyNeoX(head, cos, sin);
        }
    }

    /// <summary>GPT-J rotary: pair <c>(2i, 2i+1)</c> turns by angle <c>i</c> (flash-attn <c>apply_rotary_emb</c>, interleaved=True).</summary>
    internal static void ApplyInterleaved(Span<float> head, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin)
    {
        for (int i = 0; i < cos.Length; i++)
        {
            float x1 = head[2 * i], x2 = head[2 * i + 1];
            head[2 * i] = x1 * cos[i] - x2 * sin[i];
            head[2 * i + 1] = x2 * cos[i] + x1 * sin[i];
        }
    }

    private void CheckLengths(Span<float> state, Span<float> scratch, int tokens, int workers)
    {
        if (state.Length < StateLength) ThrowHelper.TooShort(nameof(state), state.Length, StateLength);
        if (scratch.Length < ScratchLength(tokens, workers)) ThrowHelper.TooShort(nameof(scratch), scratch.Length, ScratchLength(tokens, workers));
    }

    /// <summary>Views of one call's scratch: qkv rows, context rows, rotary cos and sin, then per worker the window scores
    /// (from <see cref="WorkerStart"/>).</summary>
    private readonly ref struct Buffers
    {
        public readonly Span<float> Qkv, Context, Cos, Sin;
        public readonly int WorkerStart;

        public Buffers(SlidingWindowAttention m, Span<float> scratch, int tokens)
        {
            int a = tokens * m.QkvWidth, b = tokens * m.HeadCount * m.HeadSize, half = m.RotaryDim / 2;
            Qkv = scratch[..a];
            Context = scratch.Slice(a, b);
            Cos = scratch.Slice(a + b, half);
            Sin = scratch.Slice(a + b + half, half);
            WorkerStart = a + b + 2 * half;
        }
    }
}
