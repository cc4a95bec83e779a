using EdgeRuntime.Core;
using EdgeRuntime.Cuda.Runtime;
using EdgeRuntime.Models.Sessions;

namespace EdgeRuntime.Cuda.Models;

/// <summary>Choices for models run by the CUDA backend.</summary>
/// <remarks>Immutable.</remarks>
public sealed record CudaModelOptions
{
    /// <summary>How weight matrices are stored on the device (default: as stored in the checkpoint).</summary>
    public CudaWeightType WeightType { get; init; } = CudaWeightType.AsStored;

    /// <summary>Replay each step as a captured CUDA graph (default) instead of launching its kernels one by one.</summary>
    public bool UseGraphs { get; init; } = true;
}

/// <summary>Per-session scratch of a CUDA model: a batch of one whose device state is loaded from and stored back to
/// the caller's host state around every call.</summary>
/// <remarks>Owned by one session; not thread-safe.</remarks>
internal sealed class CudaScratch(object owner, CudaBatch batch) : ModelScratch
{
    public object Owner { get; } = owner;

    public CudaBatch Batch { get; } = batch;

    protected override void Dispose(bool disposing) => Batch.Dispose();
}

/// <summary>A BASED or TransNormerLLM language model whose decode step runs on an NVIDIA GPU, behind the same
/// <see cref="ILanguageModel"/> contract as the CPU models (same state layout, same numbers to f32 rounding).</summary>
/// <remarks>
/// <para>Weights are uploaded once at load. Through <see cref="ILanguageModel"/> the state stays in host memory as the
/// interface requires: each <see cref="Step"/> / <see cref="Prefill"/> call copies the state to the device, runs one
/// captured CUDA graph per token (Prefill is a loop of GPU steps, not the CPU's chunked parallel form), and copies the state
/// back — correct and simple, at the cost of two state transfers per call (for a based-360m-shaped model about 9 MB each
/// way). The fast path keeps states on the device: <see cref="CreateBatch"/> steps many sessions together.</para>
/// <para>The model may be shared across threads; use one scratch (session) per thread.</para>
/// </remarks>
public sealed class CudaLanguageModel : ILanguageModel
{
    private readonly CudaFamily _family;
    private readonly CudaModelOptions _options;
    private readonly CudaDevice? _ownedDevice;
    private readonly int _vocabSize;
    private bool _disposed;

    internal CudaLanguageModel(CudaFamily family, int vocabSize, CudaModelOptions options, CudaDevice? ownedDevice)
    {
        _family = family;
        _vocabSize = vocabSize;
        _options = options;
        _ownedDevice = ownedDevice;
    }

    /// <summary>The GPU the model runs on.</summary>
    public CudaDevice Device => _family.Device;

    /// <summary>Device bytes of the uploaded weights.</summary>
    public long DeviceWeightBytes => _family.Weights.Bytes;

    /// <summary>Bytes of weight matrices one step reads (as stored on the device).</summary>
    public long MatrixBytes => _family.Weights.MatrixBytes;

    /// <inheritdoc />
    public ModelInfo Info => _family.Info;

    /// <inheritdoc />
    public int StateLength => _family.StateLength;

    /// <inheritdoc />
    public int VocabSize => _vocabSize;

    /// <inheritdoc />
    public int LogitsLength => _family.OutputLength;

    /// <inheritdoc />
    public void InitState(Span<float> state)
    {
        if (state.Length != StateLength) ThrowHelper.LengthMismatch(nameof(state), state.Length, StateLength);
        _family.InitState(state);
    }

    /// <inheritdoc />
    public ModelScratch CreateScratch()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new CudaScratch(this, new CudaBatch(_family, 1, _options.UseGraphs));
    }

    /// <summary>A batch of <paramref name="size"/> sessions whose states live on the device (the fast decode path).</summary>
    public CudaBatch CreateBatch(int size)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new CudaBatch(_family, size, _options.UseGraphs);
    }

    /// <inheritdoc />
    public long Position(ReadOnlySpan<float> state)
    {
        if (state.Length != StateLength) ThrowHelper.LengthMismatch(nameof(state), state.Length, StateLength);
        return StatePosition.Get(state, 0);
    }

    /// <inheritdoc />
    public void Step(int token, Span<float> state, Span<float> logits, ModelScratch scratch)
    {
        if (!logits.IsEmpty && logits.Length != LogitsLength) ThrowHelper.LengthMismatch(nameof(logits), logits.Length, LogitsLength);
        Prefill(new ReadOnlySpan<int>(in token), state, logits, scratch);
    }

    /// <inheritdoc />
    public void Prefill(ReadOnlySpan<int> tokens, Span<float> state, Span<float> logits, ModelScratch scratch)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (scratch is not CudaScratch s || !ReferenceEquals(s.Owner, this))
            throw new ArgumentException("cuda: scratch was not created by this model's CreateScratch", nameof(scratch));
        if (state.Length != StateLength) ThrowHelper.LengthMismatch(nameof(state), state.Length, StateLength);
        int v = LogitsLength;
        bool every = !logits.IsEmpty && (long)logits.Length == (long)tokens.Length * v && tokens.Length > 1;
        if (!logits.IsEmpty && logits.Length != v && !every)
            throw new ArgumentException($"cuda: logits has length {logits.Length}, expected 0, {v} (last token) or {(long)tokens.Length * v} ({tokens.Length} tokens × {v})", nameof(logits));
        if (tokens.IsEmpty) return;
        // Reject bad input before the state changes, as the CPU models do.
        int limit = _family.TokenLimit;
        foreach (int token in tokens)
            if ((uint)token >= (uint)limit) ThrowHelper.OutOfRange(nameof(tokens), token, $"0..{limit - 1} (padded vocabulary)");
        long position = StatePosition.Get(state, 0);
        if (_family.PositionLimit > 0 && position + tokens.Length > _family.PositionLimit)
            ThrowHelper.OutOfRange(nameof(tokens), position + tokens.Length, $"<= max_position_embeddings {_family.PositionLimit} positions");

        var batch = s.Batch;
        batch.SetState(0, state);
        for (int i = 0; i < tokens.Length; i++)
        {
            var destination = every ? logits.Slice(i * v, v) : i == tokens.Length - 1 ? logits : [];
            batch.Step(tokens.Slice(i, 1), destination);
        }
        batch.GetState(0, state);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _family.Dispose();
        _ownedDevice?.Dispose();
    }
}

/// <summary>An Aaren sequence model whose step runs on an NVIDIA GPU, behind <see cref="ISequenceModel"/>.</summary>
/// <remarks>Same host-state contract and costs as <see cref="CudaLanguageModel"/>; <see cref="CreateBatch"/> is the
/// device-resident path. The model may be shared across threads; use one scratch per thread.</remarks>
public sealed class CudaSequenceModel : ISequenceModel
{
    private readonly CudaFamily _family;
    private readonly CudaModelOptions _options;
    private readonly CudaDevice? _ownedDevice;
    private bool _disposed;

    internal CudaSequenceModel(CudaFamily family, CudaModelOptions options, CudaDevice? ownedDevice)
    {
        _family = family;
        _options = options;
        _ownedDevice = ownedDevice;
    }

    /// <summary>The GPU the model runs on.</summary>
    public CudaDevice Device => _family.Device;

    /// <inheritdoc />
    public ModelInfo Info => _family.Info;

    /// <inheritdoc />
    public int StateLength => _family.StateLength;

    /// <inheritdoc />
    public int InputLength => _family.InputLength;

    /// <inheritdoc />
    public int OutputLength => _family.OutputLength;

    /// <inheritdoc />
    public void InitState(Span<float> state)
    {
        if (state.Length != StateLength) ThrowHelper.LengthMismatch(nameof(state), state.Length, StateLength);
        _family.InitState(state);
    }

    /// <inheritdoc />
    public ModelScratch CreateScratch()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new CudaScratch(this, new CudaBatch(_family, 1, _options.UseGraphs));
    }

    /// <summary>A batch of <paramref name="size"/> sessions whose states live on the device.</summary>
    public CudaBatch CreateBatch(int size)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new CudaBatch(_family, size, _options.UseGraphs);
    }

    /// <inheritdoc />
    public long Position(ReadOnlySpan<float> state)
    {
        if (state.Length != StateLength) ThrowHelper.LengthMismatch(nameof(state), state.Length, StateLength);
        return StatePosition.Get(state, 0);
    }

    /// <inheritdoc />
    public void Step(ReadOnlySpan<float> input, Span<float> state, Span<float> output, ModelScratch scratch)
    {
        if (input.Length != InputLength) ThrowHelper.LengthMismatch(nameof(input), input.Length, InputLength);
        if (!output.IsEmpty && output.Length != OutputLength) ThrowHelper.LengthMismatch(nameof(output), output.Length, OutputLength);
        Prefill(input, state, output, scratch);
    }

    /// <inheritdoc />
    public void Prefill(ReadOnlySpan<float> inputs, Span<float> state, Span<float> outputs, ModelScratch scratch)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (scratch is not CudaScratch s || !ReferenceEquals(s.Owner, this))
            throw new ArgumentException("cuda: scratch was not created by this model's CreateScratch", nameof(scratch));
        if (state.Length != StateLength) ThrowHelper.LengthMismatch(nameof(state), state.Length, StateLength);
        int din = InputLength, dout = OutputLength;
        if (inputs.Length % din != 0)
            throw new ArgumentException($"cuda: inputs has length {inputs.Length}, expected a multiple of input_dim {din}", nameof(inputs));
        int steps = inputs.Length / din;
        bool every = (long)outputs.Length == (long)steps * dout;
        if (!outputs.IsEmpty && !every && !(steps > 0 && outputs.Length == dout))
            throw new ArgumentException($"cuda: outputs has length {outputs.Length}, expected 0, {dout} (last step) or {(long)steps * dout} ({steps} steps × output_dim {dout})", nameof(outputs));
        if (steps == 0) return;
        var batch = s.Batch;
        batch.SetState(0, state);
        for (int i = 0; i < steps; i++)
        {
            var destination = outputs.IsEmpty ? [] : every ? outputs.Slice(i * dout, dout) : i == steps - 1 ? outputs : [];
            batch.Step(inputs.Slice(i * din, din), destination);
        }
        batch.GetState(0, state);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _family.Dispose();
        _ownedDevice?.Dispose();
    }
}
