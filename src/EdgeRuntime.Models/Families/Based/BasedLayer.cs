using System.Numerics.Tensors;
using EdgeRuntime.Core.Threading;
using EdgeRuntime.Models.Formats;
using EdgeRuntime.Models.Mechanisms;

namespace EdgeRuntime.Models.Families.Based;

/// <summary>One prenorm BASED block: <c>r += mixer(norm1(r)); r += mlp(norm2(r))</c>, its mixer one of a closed set of three.</summary>
/// <remarks>
/// Reference: HazyResearch/based@32c1bd4 based/models/block.py (<c>Block.forward</c>, prenorm) and gpt.py
/// <c>create_mixer_cls</c>. Immutable; safe to share.
/// </remarks>
internal sealed class BasedLayer
{
    private readonly BasedNorm _norm1, _norm2;
    private readonly ShortConv? _conv;
    private readonly BasedLinearAttention? _linear;
    private readonly SlidingWindowAttention? _sliding;
    private readonly BasedMlp _mlp;
    private readonly int _hiddenSize;

    private BasedLayer(BasedNorm norm1, BasedNorm norm2, ShortConv? conv, BasedLinearAttention? linear, SlidingWindowAttention? sliding,
        BasedMlp mlp, BasedMixerKind kind, int stateOffset, int hiddenSize)
    {
        _norm1 = norm1;
        _norm2 = norm2;
        _conv = conv;
        _linear = linear;
        _sliding = sliding;
        _mlp = mlp;
        _hiddenSize = hiddenSize;
        Kind = kind;
        StateOffset = stateOffset;
        StateLength = conv?.StateLength ?? linear?.StateLength ?? sliding!.StateLength;
    }

    /// <summary>Which mixer this block holds.</summary>
    public BasedMixerKind Kind { get; }

    /// <summary>Offset of this block's state in the model's state block.</summary>
    public int StateOffset { get; }

    /// <summary>Floats of this block's state.</summary>
    public int StateLength { get; }

    /// <summary>The sliding-window mixer, when <see cref="Kind"/> is <see cref="BasedMixerKind.SlidingAttention"/>.</summary>
    public SlidingWindowAttention? Sliding => _sliding;

    /// <summary>Loads block <paramref name="index"/> (<c>transformer.layers.{index}</c>).</summary>
    public static BasedLayer Load(WeightSource weights, BasedConfig config, int index, int stateOffset)
    {
        string prefix = $"transformer.layers.{index}";
        var spec = config.MixerFor(index);
        var kind = spec.Kind!.Value;  // validated by BasedConfig.FromJson
        int d = config.HiddenSize;
        string mixer = prefix + ".mixer";
        ShortConv? conv = null;
        BasedLinearAttention? linear = null;
        SlidingWindowAttention? sliding = null;
        switch (kind)
        {
            case BasedMixerKind.Convolution:
                conv = ShortConv.Load(weights, mixer, d, spec.ExpandProjection, spec.KernelSize, spec.UseBias);
                break;
            case BasedMixerKind.LinearAttention:
                linear = BasedLinearAttention.Load(weights, mixer, d, spec.HeadCount, spec.FeatureDim, spec.LinearHeadSize(d), spec.EffectiveEpsilon);
                break;
            default:
                sliding = SlidingWindowAttention.Load(weights, mixer, d, config.HeadCount, config.KvHeadCount, spec.WindowSize,
                    config.RotaryDim, config.RotaryBase, config.RotaryInterleaved, config.SoftmaxScale(index), config.QkvBias, config.OutBias);
                break;
        }
        var norm1 = BasedNorm.Load(weights, prefix + ".norm1", config);
        var norm2 = BasedNorm.Load(weights, prefix + ".norm2", config);
        var mlp = BasedMlp.Load(weights, prefix + ".mlp", config);
        return new BasedLayer(norm1, norm2, conv, linear, sliding, mlp, kind, stateOffset, d);
    }

    /// <summary>Floats of work scratch for <paramref name="tokens"/> tokens on <paramref name="workers"/> workers (mixer and MLP run one after the other).</summary>
    public int ScratchLength(int tokens, int workers) => Math.Max(_mlp.ScratchLength(tokens),
        _conv?.ScratchLength(tokens) ?? _linear?.ScratchLength(tokens, workers) ?? _sliding!.ScratchLength(tokens, workers));

    /// <summary>Runs the block over <paramref name="tokens"/> rows of the residual stream, in place.</summary>
    /// <param name="pool">Workers for the projections.</param>
    /// <param name="residual">Residual stream <c>(tokens, d)</c>, updated in place.</param>
    /// <param name="tokens">Token count.</param>
    /// <param name="position">Absolute position of the first token.</param>
    /// <param name="recurrent">True: the mixer's <c>Step</c> (tokens must be 1); false: its chunked <c>Prefill</c>.</param>
    /// <param name="state">The model's whole state block.</param>
    /// <param name="normed">Scratch <c>(tokens, d)</c>.</param>
    /// <param name="mixed">Scratch <c>(tokens, d)</c>.</param>
    /// <param name="work">Scratch of <see cref="ScratchLength"/>(tokens, pool.WorkerCount) floats.</param>
    public void Forward(WorkerPool pool, Span<float> residual, int tokens, long position, bool recurrent, Span<float> state,
        Span<float> normed, Span<float> mixed, Span<float> work)
    {
        var layerState = state.Slice(StateOffset, StateLength);

        // 1. Mixer: r += mixer(norm1(r)).
        _norm1.Forward(residual, tokens, normed);
        switch (Kind)
        {
            case BasedMixerKind.Convolution:
                if (recurrent) _conv!.Step(pool, normed, layerState, mixed, work);
                else _conv!.Prefill(pool, normed, tokens, layerState, mixed, work);
                break;
            case BasedMixerKind.LinearAttention:
                if (recurrent) _linear!.Step(pool, normed, layerState, mixed, work);
                else _linear!.Prefill(pool, normed, tokens, layerState, mixed, work);
                break;
            default:
                if (recurrent) _sliding!.Step(pool, normed, position, layerState, mixed, work);
                else _sliding!.Prefill(pool, normed, tokens, position, layerState, mixed, work);
                break;
        }
        var r = residual[..(tokens * _hiddenSize)];
        TensorPrimitives.Add(r, mixed[..r.Length], r);

        // 2. MLP: r += mlp(norm2(r)).
        _norm2.Forward(residual, tokens, normed);
        _mlp.Forward(pool, normed, tokens, mixed, work);
        TensorPrimitives.Add(r, mixed[..r.Length], r);
    }
}
