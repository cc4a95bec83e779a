using System.Globalization;
using System.Numerics.Tensors;
using EdgeRuntime.Core;
using EdgeRuntime.Core.Memory;
using EdgeRuntime.Core.Tensors;
using EdgeRuntime.Core.Threading;
using EdgeRuntime.Models.Formats;
using EdgeRuntime.Models.Sessions;

namespace EdgeRuntime.Models.Families.Based;

/// <summary>A BASED language model: a GPT-2 style prenorm stack whose blocks mix tokens with a gated short convolution,
/// Taylor linear attention or sliding-window softmax attention, run in constant memory.</summary>
/// <remarks>
/// Arora et al. 2024, "Simple linear attention language models balance the recall-throughput tradeoff" (BASED).
/// Reference: HazyResearch/based@32c1bd4 based/models/gpt.py (<c>GPTLMHeadModel</c>, <c>GPTModel</c>, <c>create_block</c>).
/// <para>Forward pass per token: <c>r = wte[token] (+ wpe[position])</c>; per block <c>r += mixer(norm1(r));
/// r += mlp(norm2(r))</c>; <c>logits = lm_head · ln_f(r)</c> (lm_head = wte when tied).</para>
/// <para>State block (floats), its length fixed by the config:
/// <c>[0, 2)</c> the token position (<see cref="StatePosition"/>); then each block's state in layer order at
/// <see cref="LayerStateOffset"/>: BaseConv keeps the last <c>k−1</c> convolution inputs <c>(k−1, inner)</c>;
/// LinearAttention keeps per head <c>S (D, headSize)</c> then <c>z (D)</c>, <c>D = 1 + f + f(f+1)/2</c>;
/// SlidingAttention keeps a ring of <c>w/2+1</c> rotated keys <c>(w/2+1, kvHeads, headSize)</c> then as many values.
/// All zeros initially.</para>
/// The model is immutable and may be shared; use one session (state + scratch) per thread.
/// </remarks>
public sealed class BasedModel : ILanguageModel
{
    /// <summary>Offset of the position in the state block.</summary>
    public const int PositionOffset = 0;

    private readonly BasedConfig _config;
    private readonly WeightSource _weights;
    private readonly WorkerPool _pool;
    private readonly bool _ownsPool;
    private readonly WeightMatrix _wordEmbeddings;      // (paddedVocab, d)
    private readonly WeightMatrix? _positionEmbeddings; // (max_position_embeddings, d) or none
    private readonly BasedLayer[] _layers;
    private readonly BasedNorm _finalNorm;
    private readonly WeightMatrix _head;                // (paddedVocab, d): lm_head, or wte when tied
    private readonly float[] _headBias;                 // empty or paddedVocab
    private readonly int _prefillBlock, _workLength;

    private BasedModel(BasedConfig config, WeightSource weights, ModelOptions options)
    {
        _config = config;
        _weights = weights;
        int d = config.HiddenSize, vocab = config.PaddedVocabSize;
        _prefillBlock = options.PrefillBlock > 0 ? options.PrefillBlock
            : throw new ArgumentOutOfRangeException(nameof(options), options.PrefillBlock, "based: PrefillBlock must be positive");
        string hint = $"vocab_size {config.VocabSize} padded to {vocab}, n_embd {d} from config";
        _wordEmbeddings = weights.Matrix("transformer.embeddings.word_embeddings.weight", vocab, d, hint);
        if (config.PositionEmbeddingCount > 0)
            _positionEmbeddings = weights.Matrix("transformer.embeddings.position_embeddings.weight", config.PositionEmbeddingCount, d,
                $"max_position_embeddings {config.PositionEmbeddingCount} from config");
        else if (weights.Contains("transformer.embeddings.position_embeddings.weight"))
            throw weights.Error("tensor 'transformer.embeddings.position_embeddings.weight' is present but max_position_embeddings is 0");

        _layers = new BasedLayer[config.LayerCount];
        int offset = PositionOffset + StatePosition.Length;
        for (int i = 0; i < _layers.Length; i++)
        {
            _layers[i] = BasedLayer.Load(weights, config, i, offset);
            offset += _layers[i].StateLength;
        }
        StateLength = offset;
        _finalNorm = BasedNorm.Load(weights, "transformer.ln_f", config);
        if (config.TieWordEmbeddings)
        {
            if (weights.Contains("lm_head.weight")) throw weights.Error("tensor 'lm_head.weight' is present but tie_word_embeddings is true");
            _head = _wordEmbeddings;
        }
        else
        {
            _head = weights.Matrix("lm_head.weight", vocab, d, hint + ", tie_word_embeddings false");
        }
        _headBias = weights.OptionalVector("lm_head.bias", vocab, config.LmHeadBias, "lm_head_bias from config");

        _ownsPool = options.Pool is null;
        _pool = options.Pool ?? new WorkerPool(options.Threads);
        int work = 0;
        foreach (var layer in _layers) work = Math.Max(work, layer.ScratchLength(_prefillBlock, _pool.WorkerCount));
        _workLength = work;
        Info = new ModelInfo("based", weights.Location, Dimensions(config), weights.ParameterCount, weights.WeightBytes, StateLength * 4L);
    }

    /// <summary>Loads the model; takes ownership of <paramref name="weights"/> (disposed with the model).</summary>
    /// <param name="weights">The checkpoint's tensors.</param>
    /// <param name="config">The parsed config.json.</param>
    /// <param name="options">Threads and prefill block.</param>
    /// <exception cref="ModelFormatException">A tensor is missing, unexpected or has the wrong shape.</exception>
    public static ILanguageModel Load(WeightSource weights, BasedConfig config, ModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(options);
        return new BasedModel(config, weights, options);
    }

    /// <summary>The configuration the model was loaded with.</summary>
    public BasedConfig Config => _config;

    /// <inheritdoc />
    public ModelInfo Info { get; }

    /// <inheritdoc />
    public int StateLength { get; }

    /// <inheritdoc />
    public int VocabSize => _config.VocabSize;

    /// <inheritdoc />
    public int LogitsLength => _config.PaddedVocabSize;

    /// <summary>Offset of block <paramref name="layer"/>'s state in the state block.</summary>
    public int LayerStateOffset(int layer) => _layers[layer].StateOffset;

    /// <summary>Floats of block <paramref name="layer"/>'s state.</summary>
    public int LayerStateLength(int layer) => _layers[layer].StateLength;

    /// <summary>Ring slots of block <paramref name="layer"/>'s sliding window (<c>w/2 + 1</c>), or 0 for other mixers.</summary>
    public int LayerWindowPositions(int layer) => _layers[layer].Sliding?.WindowPositions ?? 0;

    /// <inheritdoc />
    public void InitState(Span<float> state)
    {
        if (state.Length != StateLength) ThrowHelper.LengthMismatch(nameof(state), state.Length, StateLength);
        state.Clear();
        StatePosition.Set(state, PositionOffset, 0);
    }

    /// <inheritdoc />
    public ModelScratch CreateScratch() => new BasedScratch(this, _prefillBlock, _config.HiddenSize, _workLength);

    /// <inheritdoc />
    public long Position(ReadOnlySpan<float> state)
    {
        if (state.Length != StateLength) ThrowHelper.LengthMismatch(nameof(state), state.Length, StateLength);
        return StatePosition.Get(state, PositionOffset);
    }

    /// <inheritdoc />
    public void Step(int token, Span<float> state, Span<float> logits, ModelScratch scratch)
    {
        var s = Check(state, logits, scratch, 1);
        int d = _config.HiddenSize;
        long position = StatePosition.Get(state, PositionOffset);
        var residual = s.Residual.Slice(0, d);

        // 1. Embed.
        Embed(token, position, residual, s.Mixed.Slice(0, d));

        // 2. Blocks, each mixer in its recurrent form.
        foreach (var layer in _layers)
            layer.Forward(_pool, residual, 1, position, recurrent: true, state, s.Normed.Slice(0, d), s.Mixed.Slice(0, d), s.Work.Span);

        // 3. Final norm and head.
        if (!logits.IsEmpty) Head(residual, 1, s.Normed.Slice(0, d), logits);
        StatePosition.Set(state, PositionOffset, position + 1);
    }

    /// <inheritdoc />
    public void Prefill(ReadOnlySpan<int> tokens, Span<float> state, Span<float> logits, ModelScratch scratch)
    {
        var s = Check(state, logits, scratch, tokens.Length);
        int d = _config.HiddenSize, v = LogitsLength;
        bool everyPosition = !logits.IsEmpty && logits.Length == tokens.Length * v;
        long position = StatePosition.Get(state, PositionOffset);

        // Reject bad input before the state changes.
        foreach (int token in tokens)
            if ((uint)token >= (uint)_wordEmbeddings.Rows) ThrowHelper.OutOfRange(nameof(tokens), token, $"0..{_wordEmbeddings.Rows - 1} (padded vocabulary)");
        if (_positionEmbeddings is not null && position + tokens.Length > _positionEmbeddings.Rows)
            ThrowHelper.OutOfRange(nameof(tokens), position + tokens.Length, $"<= max_position_embeddings {_positionEmbeddings.Rows} positions");
        for (int start = 0; start < tokens.Length; start += _prefillBlock)
        {
            int n = Math.Min(_prefillBlock, tokens.Length - start);
            var residual = s.Residual.Slice(0, n * d);
            var normed = s.Normed.Slice(0, n * d);

            // 1. Embed the chunk.
            for (int t = 0; t < n; t++) Embed(tokens[start + t], position + t, residual.Slice(t * d, d), s.Mixed.Slice(0, d));

            // 2. Blocks, each mixer in its chunked form.
            foreach (var layer in _layers)
                layer.Forward(_pool, residual, n, position, recurrent: false, state, normed, s.Mixed.Slice(0, n * d), s.Work.Span);

            // 3. Final norm and head: every row, or only the sequence's last row.
            if (everyPosition) Head(residual, n, normed, logits.Slice(start * v, n * v));
            else if (!logits.IsEmpty && start + n == tokens.Length) Head(residual.Slice((n - 1) * d, d), 1, normed[..d], logits);

            position += n;
            StatePosition.Set(state, PositionOffset, position);
        }
    }

    private void Embed(int token, long position, Span<float> destination, Span<float> temp)
    {
        if ((uint)token >= (uint)_wordEmbeddings.Rows) ThrowHelper.OutOfRange(nameof(token), token, $"0..{_wordEmbeddings.Rows - 1} (padded vocabulary)");
        _wordEmbeddings.ReadRow(token, destination);
        if (_positionEmbeddings is null) return;
        if (position >= _positionEmbeddings.Rows)
            ThrowHelper.OutOfRange(nameof(position), position, $"< max_position_embeddings {_positionEmbeddings.Rows}");
        _positionEmbeddings.ReadRow((int)position, temp);
        TensorPrimitives.Add(destination, temp[..destination.Length], destination);
    }

    private void Head(ReadOnlySpan<float> residual, int tokens, Span<float> normed, Span<float> logits)
    {
        _finalNorm.Forward(residual, tokens, normed);
        Core.Kernels.Linear.Forward(_pool, _head, _headBias, normed, logits, tokens);
    }

    private BasedScratch Check(Span<float> state, Span<float> logits, ModelScratch scratch, int tokens)
    {
        if (scratch is not BasedScratch s || !ReferenceEquals(s.Owner, this))
            throw new ArgumentException("based: scratch was not created by this model's CreateScratch", nameof(scratch));
        if (state.Length != StateLength) ThrowHelper.LengthMismatch(nameof(state), state.Length, StateLength);
        int v = LogitsLength;
        if (!logits.IsEmpty && logits.Length != v && (long)logits.Length != (long)tokens * v)
            throw new ArgumentException($"based: logits has length {logits.Length}, expected 0, {v} (last token) or {(long)tokens * v} ({tokens} tokens × {v})", nameof(logits));
        return s;
    }

    private static List<KeyValuePair<string, string>> Dimensions(BasedConfig c)
    {
        var kinds = new string[c.LayerCount];
        for (int i = 0; i < kinds.Length; i++)
            kinds[i] = c.MixerFor(i).Kind switch
            {
                BasedMixerKind.Convolution => "conv",
                BasedMixerKind.LinearAttention => "linear",
                _ => "sliding",
            };
        var dims = new List<KeyValuePair<string, string>>
        {
            new("hidden_size", c.HiddenSize.ToString(CultureInfo.InvariantCulture)),
            new("layers", c.LayerCount.ToString(CultureInfo.InvariantCulture)),
            new("vocab_size", c.VocabSize.ToString(CultureInfo.InvariantCulture)),
            new("padded_vocab_size", c.PaddedVocabSize.ToString(CultureInfo.InvariantCulture)),
            new("mixers", string.Join(",", kinds)),
            new("mlp", $"{c.Activation} {c.MlpHiddenSize}"),
            new("norm", c.RmsNorm ? "rms" : "layer"),
        };
        for (int i = 0; i < kinds.Length; i++)
        {
            var m = c.MixerFor(i);
            string detail = m.Kind switch
            {
                BasedMixerKind.Convolution => $"conv k={m.KernelSize} inner={m.ConvInnerSize(c.HiddenSize)}",
                BasedMixerKind.LinearAttention => $"taylor heads={m.HeadCount} feature_dim={m.FeatureDim} head_dim={m.LinearHeadSize(c.HiddenSize)}",
                _ => $"window={m.WindowSize} heads={c.HeadCount} kv_heads={c.KvHeadCount} rotary_dim={c.RotaryDim}",
            };
            if (dims.FindIndex(p => p.Value == detail) < 0) dims.Add(new($"mixer.{kinds[i]}", detail));
        }
        return dims;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsPool) _pool.Dispose();
        _weights.Dispose();
    }

    /// <summary>Per-session buffers: residual stream, normed and mixer output rows for one prefill chunk, plus work space.</summary>
    /// <remarks>Owned by one session; not thread-safe.</remarks>
    private sealed class BasedScratch : ModelScratch
    {
        public BasedScratch(BasedModel owner, int tokens, int hidden, int work)
        {
            Owner = owner;
            Residual = new NativeBuffer((long)tokens * hidden);
            NormedBuffer = new NativeBuffer((long)tokens * hidden);
            MixedBuffer = new NativeBuffer((long)tokens * hidden);
            Work = new NativeBuffer(work);
        }

        public BasedModel Owner { get; }

        public NativeBuffer Residual { get; }

        public NativeBuffer NormedBuffer { get; }

        public NativeBuffer MixedBuffer { get; }

        public NativeBuffer Work { get; }

        public Span<float> Normed => NormedBuffer.Span;

        public Span<float> Mixed => MixedBuffer.Span;

        protected override void Dispose(bool disposing)
        {
            Residual.Dispose();
            NormedBuffer.Dispose();
            MixedBuffer.Dispose();
            Work.Dispose();
        }
    }
}
