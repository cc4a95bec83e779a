using System.Globalization;
using EdgeRuntime.Core;
using EdgeRuntime.Core.Kernels;
using EdgeRuntime.Core.Tensors;
using EdgeRuntime.Core.Threading;
using EdgeRuntime.Models.Formats;
using EdgeRuntime.Models.Mechanisms;
using EdgeRuntime.Models.Sessions;

namespace EdgeRuntime.Models.Families.Aaren;

/// <summary>An Aaren sequence model (Feng et al. 2024, "Attention as an RNN", arXiv:2405.13956): stacked pre-norm blocks
/// of learned-query softmax attention computed as an RNN, with a linear input projection and output head.</summary>
/// <remarks>
/// Reference: this project's checkpoint layout and golden, shared/golden/README.md ("Aaren checkpoint layout"); no
/// public reference code exists. Per step t: <c>h = input_proj(x_t)</c>; per layer <c>h += out_proj(Aaren(norm1(h)))</c>,
/// <c>h += mlp.fc2(act(mlp.fc1(norm2(h))))</c>; <c>y_t = head(final_norm(h))</c>.
/// <para>State layout (floats; length depends only on the config): offset <see cref="PositionOffset"/>: the step count
/// (<see cref="StatePosition"/>, 2 floats); then layer <c>i</c> at <see cref="LayerStateOffset"/>(i), <see cref="LayerStateLength"/>
/// floats: <c>n_head</c> consecutive heads of <c>head_dim + 2</c> floats <c>[m, c, a(head_dim)]</c>
/// (<see cref="AarenAttention"/>). The empty state is zero except every <c>m</c>, which is −∞.</para>
/// The model is immutable and may be shared across threads; use one state and one scratch per session (thread).
/// </remarks>
public sealed class AarenModel : ISequenceModel
{
    /// <summary>Offset of the 64-bit step counter in the state.</summary>
    public const int PositionOffset = 0;

    private readonly WeightSource _weights;
    private readonly WorkerPool _pool;
    private readonly bool _ownsPool;
    private readonly int _block;
    private readonly WeightMatrix _inputProj;           // (d, input_dim)
    private readonly float[] _inputBias;                // (d)
    private readonly AarenLayer[] _layers;              // n_layer
    private readonly float[] _finalNormWeight, _finalNormBias; // (d)
    private readonly WeightMatrix _head;                // (output_dim, d)
    private readonly float[] _headBias;                 // (output_dim)
    private readonly float _eps;
    private bool _disposed;

    private AarenModel(WeightSource w, AarenConfig c, ModelOptions options)
    {
        _weights = w;
        Config = c;
        _block = options.PrefillBlock;
        int d = c.HiddenSize;
        string dHint = $"d_model {d} from config";
        _inputProj = w.Matrix("input_proj.weight", d, c.InputSize, $"d_model {d}, input_dim {c.InputSize} from config");
        _inputBias = w.Vector("input_proj.bias", d, dHint);
        _layers = new AarenLayer[c.LayerCount];
        for (int i = 0; i < c.LayerCount; i++) _layers[i] = AarenLayer.Load(w, $"layers.{i}", c);
        _finalNormWeight = w.Vector("final_norm.weight", d, dHint);
        _finalNormBias = w.Vector("final_norm.bias", d, dHint);
        _head = w.Matrix("head.weight", c.OutputSize, d, $"output_dim {c.OutputSize}, d_model {d} from config");
        _headBias = w.Vector("head.bias", c.OutputSize, $"output_dim {c.OutputSize} from config");
        _eps = (float)c.LayerNormEpsilon;

        LayerStateLength = _layers[0].Attention.StateLength;
        StateLength = StatePosition.Length + c.LayerCount * LayerStateLength;
        Info = new ModelInfo(
            "aaren",
            w.Location,
            [
                Dim("input_dim", c.InputSize), Dim("d_model", c.HiddenSize), Dim("n_layer", c.LayerCount),
                Dim("n_head", c.HeadCount), Dim("head_dim", c.HeadSize), Dim("mlp_hidden", c.MlpHiddenSize),
                new("activation", c.Activation), Dim("output_dim", c.OutputSize), new("task", c.Task),
            ],
            w.ParameterCount,
            w.WeightBytes,
            (long)StateLength * sizeof(float));

        // The pool last: nothing above can leak its threads on a load error.
        _ownsPool = options.Pool is null;
        _pool = options.Pool ?? new WorkerPool(options.Threads);
    }

    /// <summary>Loads the model; takes ownership of <paramref name="weights"/> (disposed with the model).</summary>
    /// <param name="weights">The checkpoint's tensors, named as in shared/golden/README.md.</param>
    /// <param name="config">The parsed config.json.</param>
    /// <param name="options">Pool / threads and the prefill block (the scan chunk).</param>
    /// <exception cref="ModelConfigException">The config is invalid.</exception>
    /// <exception cref="ModelFormatException">A tensor is missing or has the wrong shape.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="ModelOptions.PrefillBlock"/> is not positive.</exception>
    public static ISequenceModel Load(WeightSource weights, AarenConfig config, ModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(options);
        config.Validate(weights.Location);
        if (options.PrefillBlock <= 0) ThrowHelper.OutOfRange(nameof(options.PrefillBlock), options.PrefillBlock, "> 0");
        return new AarenModel(weights, config, options);
    }

    /// <summary>The configuration the model was loaded with.</summary>
    public AarenConfig Config { get; }

    /// <inheritdoc />
    public ModelInfo Info { get; }

    /// <inheritdoc />
    public int StateLength { get; }

    /// <summary>Floats of one layer's state: <c>n_head × (head_dim + 2)</c>.</summary>
    public int LayerStateLength { get; }

    /// <inheritdoc />
    public int InputLength => Config.InputSize;

    /// <inheritdoc />
    public int OutputLength => Config.OutputSize;

    /// <summary>Offset of layer <paramref name="layer"/>'s state: <c>2 + layer × LayerStateLength</c>.</summary>
    public int LayerStateOffset(int layer)
    {
        if ((uint)layer >= (uint)_layers.Length) ThrowHelper.OutOfRange(nameof(layer), layer, $"0..{_layers.Length - 1}");
        return StatePosition.Length + layer * LayerStateLength;
    }

    /// <summary>Writes the empty-history state: position 0, and per layer and head <c>m = −∞</c>
    /// (float.NegativeInfinity, at <c>LayerStateOffset(i) + h × (head_dim + 2)</c>), <c>c = 0</c>, <c>a = 0</c>.</summary>
    /// <remarks>A zeroed buffer is NOT a valid empty state: m = 0 would clamp every later exponent at e^0.</remarks>
    public void InitState(Span<float> state)
    {
        CheckState(state);
        StatePosition.Set(state, PositionOffset, 0);
        for (int i = 0; i < _layers.Length; i++) _layers[i].Attention.InitState(LayerState(state, i));
    }

    /// <inheritdoc />
    public ModelScratch CreateScratch()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new AarenScratch(_block, Config.HiddenSize, Config.MlpHiddenSize);
    }

    /// <inheritdoc />
    public long Position(ReadOnlySpan<float> state)
    {
        if (state.Length != StateLength) ThrowHelper.LengthMismatch(nameof(state), state.Length, StateLength);
        return StatePosition.Get(state, PositionOffset);
    }

    /// <summary>Recurrent form: one step. Allocates nothing on the managed heap.</summary>
    /// <param name="input"><see cref="InputLength"/> floats.</param>
    /// <param name="state">Caller-owned, <see cref="StateLength"/> floats, updated in place.</param>
    /// <param name="output">Empty (skip the head) or <see cref="OutputLength"/> floats.</param>
    /// <param name="scratch">From <see cref="CreateScratch"/>.</param>
    /// <exception cref="ArgumentException">A length does not match, or the scratch is not this model's.</exception>
    public void Step(ReadOnlySpan<float> input, Span<float> state, Span<float> output, ModelScratch scratch)
    {
        var s = CheckScratch(scratch);
        if (input.Length != InputLength) ThrowHelper.LengthMismatch(nameof(input), input.Length, InputLength);
        CheckState(state);
        if (!output.IsEmpty && output.Length != OutputLength) ThrowHelper.LengthMismatch(nameof(output), output.Length, OutputLength);

        // 1. h = input_proj(x).
        Linear.Forward(_pool, _inputProj, _inputBias, input, s.Hidden(1));
        // 2. The blocks, each advancing its own attention state by one step.
        for (int i = 0; i < _layers.Length; i++) _layers[i].Forward(_pool, s, 1, LayerState(state, i));
        // 3. y = head(final_norm(h)).
        if (!output.IsEmpty) Head(s, 0, output);
        StatePosition.Set(state, PositionOffset, StatePosition.Get(state, PositionOffset) + 1);
    }

    /// <summary>Parallel form over <c>inputs.Length / InputLength</c> steps, in blocks of <see cref="ModelOptions.PrefillBlock"/>
    /// with fixed scratch; equal to calling <see cref="Step"/> for each (calls may be chained). Allocates nothing.</summary>
    /// <param name="inputs">Steps × <see cref="InputLength"/>, row-major.</param>
    /// <param name="state">Caller-owned state, updated in place.</param>
    /// <param name="outputs">Empty (skip the head), <see cref="OutputLength"/> floats (last step only), or
    /// steps × <see cref="OutputLength"/> (every step, row-major).</param>
    /// <param name="scratch">From <see cref="CreateScratch"/>.</param>
    /// <exception cref="ArgumentException">A length does not match, or the scratch is not this model's.</exception>
    public void Prefill(ReadOnlySpan<float> inputs, Span<float> state, Span<float> outputs, ModelScratch scratch)
    {
        var s = CheckScratch(scratch);
        int inLen = InputLength, outLen = OutputLength, d = Config.HiddenSize;
        if (inputs.Length % inLen != 0)
            throw new ArgumentException($"aaren: inputs has length {inputs.Length}, expected a multiple of input_dim {inLen}", nameof(inputs));
        CheckState(state);
        int steps = inputs.Length / inLen;
        bool all = outputs.Length == (long)steps * outLen;
        if (!outputs.IsEmpty && !all && !(steps > 0 && outputs.Length == outLen))
            throw new ArgumentException(
                $"aaren: outputs has length {outputs.Length}, expected 0, {outLen} (last step) or {(long)steps * outLen} ({steps} steps × output_dim {outLen})",
                nameof(outputs));

        for (int t0 = 0; t0 < steps; t0 += _block)
        {
            int len = Math.Min(_block, steps - t0);
            // 1. h = input_proj(x) for the whole block.
            Linear.Forward(_pool, _inputProj, _inputBias, inputs.Slice(t0 * inLen, len * inLen), s.Hidden(len), len);
            // 2. The blocks: batched projections and MLP, chunked prefix scan for the attention.
            for (int i = 0; i < _layers.Length; i++) _layers[i].Forward(_pool, s, len, LayerState(state, i));
            // 3. y = head(final_norm(h)) for every row, or for the very last row only.
            if (all && !outputs.IsEmpty)
            {
                var z = s.Normed(len);
                var h = s.Hidden(len);
                for (int t = 0; t < len; t++)
                    LayerNorm.Forward(h.Slice(t * d, d), _finalNormWeight, _finalNormBias, _eps, z.Slice(t * d, d));
                Linear.Forward(_pool, _head, _headBias, z, outputs.Slice(t0 * outLen, len * outLen), len);
            }
            else if (!outputs.IsEmpty && t0 + len == steps) Head(s, len - 1, outputs);
        }
        StatePosition.Set(state, PositionOffset, StatePosition.Get(state, PositionOffset) + steps);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_ownsPool) _pool.Dispose();
        _weights.Dispose();
    }

    // y = head(final_norm(h[row])) into one output row.
    private void Head(AarenScratch s, int row, Span<float> output)
    {
        int d = Config.HiddenSize;
        var z = s.Normed(1);
        LayerNorm.Forward(s.Hidden(row + 1).Slice(row * d, d), _finalNormWeight, _finalNormBias, _eps, z);
        Linear.Forward(_pool, _head, _headBias, z, output);
    }

    private Span<float> LayerState(Span<float> state, int layer) =>
        state.Slice(StatePosition.Length + layer * LayerStateLength, LayerStateLength);

    private void CheckState(ReadOnlySpan<float> state)
    {
        if (state.Length != StateLength) ThrowHelper.LengthMismatch(nameof(state), state.Length, StateLength);
    }

    private AarenScratch CheckScratch(ModelScratch scratch)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (scratch is AarenScratch s && s.Block == _block && s.Width == Config.HiddenSize && s.MlpHidden == Config.MlpHiddenSize)
            return s;
        throw new ArgumentException("aaren: scratch was not created by this model's CreateScratch", nameof(scratch));
    }

    private static KeyValuePair<string, string> Dim(string name, int value) =>
        new(name, value.ToString(CultureInfo.InvariantCulture));
}
