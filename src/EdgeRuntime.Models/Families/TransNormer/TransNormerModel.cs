using System.Globalization;
using System.Numerics.Tensors;
using EdgeRuntime.Core;
using EdgeRuntime.Core.Kernels;
using EdgeRuntime.Core.Memory;
using EdgeRuntime.Core.Tensors;
using EdgeRuntime.Core.Threading;
using EdgeRuntime.Models.Formats;
using EdgeRuntime.Models.Sessions;

namespace EdgeRuntime.Models.Families.TransNormer;

/// <summary>TransNormerLLM: a decoder of Lightning-attention token mixers and GLU channel mixers with SimpleRMSNorm.</summary>
/// <remarks>
/// <para>Qin et al., "TransNormerLLM: A Faster and Better Large Language Model with Improved TransNormer", arXiv:2307.14995.
/// Reference: OpenNLPLab/lightning-attention@d15c385 lightning_attn/ops/torch/linear_attention.py, lightning_attn/utils/utils.py,
/// lightning_attn/ops/torch/srmsnorm.py; HF <c>modeling_transnormer.py</c> (<c>TransnormerModel</c>, <c>inference()</c>).</para>
/// <para>Forward: <c>x = embed_scale·E[token]</c> (<c>embed_scale = sqrt(d)</c> unless <c>no_scale_embedding</c>); per layer
/// <c>x += NormLinearAttention(SRMSNorm(x))</c>, <c>x += GLU(SRMSNorm(x))</c>; <c>logits = lm_head(SRMSNorm(x))</c>.</para>
/// <para>State layout (floats): <c>[0, 2)</c> the position (<see cref="StatePosition"/>); then for each layer <c>l</c> in
/// order, its KV block of <c>H × KeySize_l × head_size</c> (<c>KeySize_l = 2·head_size</c> in LRPE layers, else
/// <c>head_size</c>), at <see cref="LayerStateOffset"/>. The empty state is all zeros.</para>
/// <para>The model is immutable and may be shared; use one state and one scratch per session (thread).</para>
/// </remarks>
public sealed class TransNormerModel : ILanguageModel
{
    private const int PositionOffset = 0;

    private readonly WeightSource _weights;
    private readonly WorkerPool _pool;
    private readonly bool _ownsPool;
    private readonly WeightMatrix _embed;    // (V, d)
    private readonly WeightMatrix _head;     // (V, d): lm_head, or the embedding when tied and lm_head is absent
    private readonly NormLinearAttention[] _mixers;
    private readonly GluChannelMixer[] _glus;
    private readonly int[] _layerOffsets;
    private readonly float _embedScale, _eps;
    private readonly int _block, _attnScratch;
    private bool _disposed;

    private TransNormerModel(WeightSource weights, TransNormerConfig config, ModelOptions options)
    {
        _weights = weights;
        Config = config;
        _block = options.PrefillBlock;
        int d = config.EmbedDim, v = config.VocabSize;
        _embed = weights.Matrix("model.embed_tokens.weight", v, d, $"vocab_size {v}, decoder_embed_dim {d} from config");
        _mixers = new NormLinearAttention[config.LayerCount];
        _glus = new GluChannelMixer[config.LayerCount];
        _layerOffsets = new int[config.LayerCount];
        long offset = PositionOffset + StatePosition.Length;
        for (int i = 0; i < config.LayerCount; i++)
        {
            _mixers[i] = NormLinearAttention.Load(weights, $"model.layers.{i}.token_mixer", config, i, _block);
            _glus[i] = GluChannelMixer.Load(weights, $"model.layers.{i}.channel_mixer", config);
            _layerOffsets[i] = checked((int)offset);
            offset += _mixers[i].Attention.StateLength;
            _attnScratch = Math.Max(_attnScratch, _mixers[i].Attention.ScratchLength);
        }
        StateLength = checked((int)offset);
        if (weights.Contains("lm_head.weight"))
            _head = weights.Matrix("lm_head.weight", v, d, $"vocab_size {v}, decoder_embed_dim {d} from config");
        else if (config.TieWordEmbeddings)
            _head = _embed;
        else
            throw weights.Error("tensor 'lm_head.weight' is missing and tie_word_embeddings is false in the config");
        _embedScale = config.NoScaleEmbedding ? 1f : (float)Math.Sqrt(d);
        _eps = (float)config.NormEps;
        _ownsPool = options.Pool is null;
        _pool = options.Pool ?? new WorkerPool(options.Threads);
        Info = new ModelInfo("transnormer", weights.Location, Dimensions(config, _block), weights.ParameterCount, weights.WeightBytes, (long)StateLength * sizeof(float));
    }

    /// <summary>Loads the model from <paramref name="weights"/> (the model takes ownership and disposes them).</summary>
    /// <exception cref="ModelFormatException">A tensor is missing, unexpected or of the wrong shape.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="ModelOptions.PrefillBlock"/> is not positive.</exception>
    public static ILanguageModel Load(WeightSource weights, TransNormerConfig config, ModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(options);
        if (options.PrefillBlock <= 0) ThrowHelper.OutOfRange(nameof(options.PrefillBlock), options.PrefillBlock, "> 0");
        return new TransNormerModel(weights, config, options);
    }

    /// <summary>The configuration the model was built from.</summary>
    public TransNormerConfig Config { get; }

    /// <inheritdoc />
    public ModelInfo Info { get; }

    /// <inheritdoc />
    public int StateLength { get; }

    /// <inheritdoc />
    public int VocabSize => Config.VocabSize;

    /// <inheritdoc />
    public int LogitsLength => _head.Rows;

    /// <summary>Offset of layer <paramref name="layer"/>'s KV block in the state.</summary>
    public int LayerStateOffset(int layer) => _layerOffsets[layer];

    /// <inheritdoc />
    public void InitState(Span<float> state)
    {
        if (state.Length != StateLength) ThrowHelper.LengthMismatch(nameof(state), state.Length, StateLength);
        state.Clear();
        StatePosition.Set(state, PositionOffset, 0);
    }

    /// <inheritdoc />
    public ModelScratch CreateScratch() => new TransNormerScratch(this, Config, _block, _attnScratch);

    /// <inheritdoc />
    public long Position(ReadOnlySpan<float> state)
    {
        if (state.Length != StateLength) ThrowHelper.LengthMismatch(nameof(state), state.Length, StateLength);
        return StatePosition.Get(state, PositionOffset);
    }

    /// <inheritdoc />
    public void Step(int token, Span<float> state, Span<float> logits, ModelScratch scratch)
    {
        var s = Check(state, scratch);
        if (!logits.IsEmpty && logits.Length != LogitsLength) ThrowHelper.LengthMismatch(nameof(logits), logits.Length, LogitsLength);
        CheckToken(token);
        Forward(new ReadOnlySpan<int>(in token), state, logits, allPositions: false, s, recurrent: true);
    }

    /// <inheritdoc />
    public void Prefill(ReadOnlySpan<int> tokens, Span<float> state, Span<float> logits, ModelScratch scratch)
    {
        var s = Check(state, scratch);
        long all = (long)tokens.Length * LogitsLength;
        bool allPositions = logits.Length == all && tokens.Length > 1;
        if (!logits.IsEmpty && logits.Length != LogitsLength && logits.Length != all)
            throw new ArgumentException($"'{nameof(logits)}' has length {logits.Length}, expected 0, {LogitsLength} (last token) or {all} (every token).", nameof(logits));
        if (!logits.IsEmpty && tokens.IsEmpty) throw new ArgumentException($"'{nameof(logits)}' is not empty but there are no tokens to score.", nameof(logits));
        foreach (int token in tokens) CheckToken(token);   // before the state changes
        for (int start = 0; start < tokens.Length; start += _block)
        {
            int m = Math.Min(_block, tokens.Length - start);
            bool last = start + m == tokens.Length;
            var chunkLogits = allPositions ? logits.Slice(start * LogitsLength, m * LogitsLength) : last ? logits : [];
            Forward(tokens.Slice(start, m), state, chunkLogits, allPositions, s, recurrent: false);
        }
    }

    /// <summary>Runs <c>tokens</c> (at most one block) through every layer; logits for every row or only the last.</summary>
    private void Forward(ReadOnlySpan<int> tokens, Span<float> state, Span<float> logits, bool allPositions, TransNormerScratch s, bool recurrent)
    {
        int m = tokens.Length, d = Config.EmbedDim;
        long position = StatePosition.Get(state, PositionOffset);
        var x = s.X.Slice(0, m * d);
        var xn = s.Xn.Slice(0, m * d);
        // Embedding, scaled by sqrt(d).
        for (int t = 0; t < m; t++)
        {
            var row = x.Slice(t * d, d);
            _embed.ReadRow(tokens[t], row);
            TensorPrimitives.Multiply(row, _embedScale, row);
        }
        for (int l = 0; l < _mixers.Length; l++)
        {
            var mixer = _mixers[l];
            var layerState = state.Slice(_layerOffsets[l], mixer.Attention.StateLength);
            // x += TokenMixer(SRMSNorm(x))
            Normalize(x, xn, m);
            mixer.Forward(_pool, xn, s.Qkvu.Span, s.Attn.Span, s.AttnScratch.Span, layerState, position, xn, m, recurrent);
            TensorPrimitives.Add(x, xn, x);
            // x += GLU(SRMSNorm(x))
            Normalize(x, xn, m);
            _glus[l].Forward(_pool, xn, s.Gate.Span, s.Up.Span, xn, m);
            TensorPrimitives.Add(x, xn, x);
        }
        StatePosition.Set(state, PositionOffset, position + m);
        if (logits.IsEmpty) return;
        // logits = lm_head(SRMSNorm(x)), for every row or the last one.
        if (allPositions)
        {
            Normalize(x, xn, m);
            Linear.Forward(_pool, _head, [], xn, logits, m);
        }
        else
        {
            RmsNorm.ForwardSimple(x.Slice((m - 1) * d, d), _eps, xn[..d]);
            Linear.Forward(_pool, _head, [], xn[..d], logits);
        }
    }

    private void Normalize(ReadOnlySpan<float> x, Span<float> destination, int tokens)
    {
        int d = Config.EmbedDim;
        for (int t = 0; t < tokens; t++) RmsNorm.ForwardSimple(x.Slice(t * d, d), _eps, destination.Slice(t * d, d));
    }

    private TransNormerScratch Check(Span<float> state, ModelScratch scratch)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (state.Length != StateLength) ThrowHelper.LengthMismatch(nameof(state), state.Length, StateLength);
        if (scratch is not TransNormerScratch s || !ReferenceEquals(s.Owner, this))
            throw new ArgumentException("'scratch' was not created by this model's CreateScratch().", nameof(scratch));
        return s;
    }

    private void CheckToken(int token)
    {
        if ((uint)token >= (uint)_embed.Rows) ThrowHelper.OutOfRange("token", token, $"0..{_embed.Rows - 1} (vocab_size)");
    }

    private static List<KeyValuePair<string, string>> Dimensions(TransNormerConfig c, int block)
    {
        string lrpe = string.Join(",", Enumerable.Range(0, c.LayerCount).Where(c.UsesLrpe));
        return
        [
            new("vocab_size", c.VocabSize.ToString(CultureInfo.InvariantCulture)),
            new("decoder_embed_dim", c.EmbedDim.ToString(CultureInfo.InvariantCulture)),
            new("decoder_layers", c.LayerCount.ToString(CultureInfo.InvariantCulture)),
            new("decoder_attention_heads", c.HeadCount.ToString(CultureInfo.InvariantCulture)),
            new("head_size", c.HeadSize.ToString(CultureInfo.InvariantCulture)),
            new("hidden_dim", c.HiddenDim.ToString(CultureInfo.InvariantCulture)),
            new("glu_dim", c.GluDim.ToString(CultureInfo.InvariantCulture)),
            new("lrpe_layers", lrpe.Length == 0 ? "none" : lrpe),
            new("linear_act_fun", c.LinearActFun),
            new("glu_act", c.GluAct),
            new("prefill_block", block.ToString(CultureInfo.InvariantCulture)),
        ];
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_ownsPool) _pool.Dispose();
        _weights.Dispose();
    }

    /// <summary>One session's working memory: activations of one block of tokens, sized once from the config.</summary>
    /// <remarks>Owned by one session; not thread-safe.</remarks>
    private sealed class TransNormerScratch : ModelScratch
    {
        public TransNormerScratch(TransNormerModel owner, TransNormerConfig c, int block, int attnScratch)
        {
            Owner = owner;
            X = new NativeBuffer((long)block * c.EmbedDim);
            Xn = new NativeBuffer((long)block * c.EmbedDim);
            Qkvu = new NativeBuffer((long)block * 4 * c.HiddenDim);
            Attn = new NativeBuffer((long)block * c.HiddenDim);
            Gate = new NativeBuffer((long)block * c.GluDim);
            Up = new NativeBuffer((long)block * c.GluDim);
            AttnScratch = new NativeBuffer(attnScratch);
        }

        public TransNormerModel Owner { get; }
        public NativeBuffer X { get; }           // (block, d) residual stream
        public NativeBuffer Xn { get; }          // (block, d) normalised rows, then mixer outputs
        public NativeBuffer Qkvu { get; }        // (block, 4·hidden_dim)
        public NativeBuffer Attn { get; }        // (block, hidden_dim)
        public NativeBuffer Gate { get; }        // (block, glu_dim)
        public NativeBuffer Up { get; }          // (block, glu_dim)
        public NativeBuffer AttnScratch { get; } // the mechanism's q̃, k̃ of one block

        protected override void Dispose(bool disposing)
        {
            X.Dispose(); Xn.Dispose(); Qkvu.Dispose(); Attn.Dispose(); Gate.Dispose(); Up.Dispose(); AttnScratch.Dispose();
        }
    }
}
