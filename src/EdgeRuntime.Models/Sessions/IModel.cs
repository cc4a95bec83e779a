using EdgeRuntime.Core.Threading;

namespace EdgeRuntime.Models.Sessions;

/// <summary>What every loaded model says about itself (for <c>edgefw inspect</c>, the service's status message, snapshots).</summary>
/// <param name="Family">"based", "transnormer" or "aaren".</param>
/// <param name="Location">File or directory it was loaded from.</param>
/// <param name="Dimensions">Hyper-parameters, e.g. hidden size, layers, heads, window, in display order.</param>
/// <param name="ParameterCount">Number of weights.</param>
/// <param name="WeightBytes">Bytes of weights as stored.</param>
/// <param name="StateBytes">Bytes of one session's state block.</param>
public sealed record ModelInfo(
    string Family,
    string Location,
    IReadOnlyList<KeyValuePair<string, string>> Dimensions,
    long ParameterCount,
    long WeightBytes,
    long StateBytes);

/// <summary>Load-time choices shared by all families.</summary>
/// <remarks>Immutable.</remarks>
public sealed record ModelOptions
{
    /// <summary>The worker pool the model splits rows over; null = a pool of <see cref="Threads"/> workers owned by the model.</summary>
    public WorkerPool? Pool { get; init; }

    /// <summary>Worker threads when no pool is given (0 = one per core).</summary>
    public int Threads { get; init; }

    /// <summary>Tokens per prefill chunk: the Lightning-2 block for TransNormerLLM, the Taylor chunk for BASED, the scan chunk for Aaren.</summary>
    public int PrefillBlock { get; init; } = 256;
}

/// <summary>Per-session scratch memory a model needs for <c>Step</c> and <c>Prefill</c>, allocated once by <c>CreateScratch</c>.</summary>
/// <remarks>Owned by one session; not thread-safe.</remarks>
public abstract class ModelScratch : IDisposable
{
    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees native buffers.</summary>
    protected virtual void Dispose(bool disposing) { }
}

/// <summary>A recurrent model: immutable weights plus a per-session state block of fixed length (rwkv.h in C#).</summary>
/// <remarks>
/// The state is one flat float buffer the caller owns; its length never depends on how many tokens were seen, so a
/// snapshot is one copy. Models may be shared; use one session (state + scratch) per thread.
/// </remarks>
public interface IModel : IDisposable
{
    /// <summary>Description for tools and status messages.</summary>
    ModelInfo Info { get; }

    /// <summary>Floats in one session's state.</summary>
    int StateLength { get; }

    /// <summary>Writes the empty-history state (zeros, except where a family documents otherwise, e.g. Aaren's −∞ max).</summary>
    void InitState(Span<float> state);

    /// <summary>Allocates the scratch one session needs; dispose it with the session.</summary>
    ModelScratch CreateScratch();

    /// <summary>Tokens (or steps) already consumed by <paramref name="state"/>.</summary>
    long Position(ReadOnlySpan<float> state);
}

/// <summary>A token-in, logits-out language model (BASED, TransNormerLLM).</summary>
public interface ILanguageModel : IModel
{
    /// <summary>Real vocabulary size (config <c>vocab_size</c>): ids that may be sampled.</summary>
    int VocabSize { get; }

    /// <summary>Columns of the output head (may exceed <see cref="VocabSize"/> when the family pads the vocabulary).</summary>
    int LogitsLength { get; }

    /// <summary>Recurrent form: consumes one token, updating <paramref name="state"/> in place.</summary>
    /// <param name="token">Token id in <c>[0, VocabSize)</c>... the embedding table's rows.</param>
    /// <param name="state">Caller-owned, <see cref="StateLength"/> floats.</param>
    /// <param name="logits">Empty (skip the head) or <see cref="LogitsLength"/> floats.</param>
    /// <param name="scratch">From <see cref="IModel.CreateScratch"/>.</param>
    /// <remarks>Allocates nothing on the managed heap.</remarks>
    void Step(int token, Span<float> state, Span<float> logits, ModelScratch scratch);

    /// <summary>Chunked parallel form: consumes many tokens, equal to calling <see cref="Step"/> for each.</summary>
    /// <param name="tokens">Any number of tokens; processed in chunks of <see cref="ModelOptions.PrefillBlock"/>.</param>
    /// <param name="state">Caller-owned state, updated in place.</param>
    /// <param name="logits">Empty (skip the head), <see cref="LogitsLength"/> floats (last token only), or
    /// <c>tokens.Length × LogitsLength</c> floats (every position, row-major).</param>
    /// <param name="scratch">From <see cref="IModel.CreateScratch"/>.</param>
    void Prefill(ReadOnlySpan<int> tokens, Span<float> state, Span<float> logits, ModelScratch scratch);
}

/// <summary>A vector-in, vector-out streaming model (Aaren forecasting or classification).</summary>
public interface ISequenceModel : IModel
{
    /// <summary>Floats per input step.</summary>
    int InputLength { get; }

    /// <summary>Floats per output step.</summary>
    int OutputLength { get; }

    /// <summary>Recurrent form: one step. Allocates nothing on the managed heap.</summary>
    /// <param name="input"><see cref="InputLength"/> floats.</param>
    /// <param name="state">Caller-owned state, updated in place.</param>
    /// <param name="output"><see cref="OutputLength"/> floats.</param>
    /// <param name="scratch">From <see cref="IModel.CreateScratch"/>.</param>
    void Step(ReadOnlySpan<float> input, Span<float> state, Span<float> output, ModelScratch scratch);

    /// <summary>Parallel form over <c>inputs.Length / InputLength</c> steps; equal to calling <see cref="Step"/> for each.</summary>
    /// <param name="inputs">Steps × <see cref="InputLength"/>, row-major.</param>
    /// <param name="state">Caller-owned state, updated in place.</param>
    /// <param name="outputs">Steps × <see cref="OutputLength"/>, row-major (every step's output).</param>
    /// <param name="scratch">From <see cref="IModel.CreateScratch"/>.</param>
    void Prefill(ReadOnlySpan<float> inputs, Span<float> state, Span<float> outputs, ModelScratch scratch);
}
