using EdgeRuntime.Core;
using EdgeRuntime.Core.Memory;

namespace EdgeRuntime.Models.Sessions;

/// <summary>One conversation with a language model: owns its state block, scratch and last logits (rwkv.h's eval loop in C#).</summary>
/// <remarks>
/// <see cref="Append"/> prefills any number of tokens (the model's chunked parallel form) and leaves the last token's
/// logits in <see cref="Logits"/>; <see cref="Step"/> consumes one token. Both continue the same sequence, so a
/// conversation goes on across calls, and memory never grows with its length. <see cref="Snapshot"/> copies state and
/// logits out; <see cref="Restore"/> puts them back. The model may be shared between sessions; a session is not
/// thread-safe: use one per thread.
/// </remarks>
public sealed class InferenceSession : IDisposable
{
    private readonly NativeBuffer _state;
    private readonly NativeBuffer _logits;
    private readonly ModelScratch _scratch;
    private bool _disposed;

    /// <summary>Creates an empty-history session on <paramref name="model"/> (which stays owned by the caller).</summary>
    public InferenceSession(ILanguageModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        Model = model;
        _state = new NativeBuffer(model.StateLength);
        _logits = new NativeBuffer(model.LogitsLength);
        _scratch = model.CreateScratch();
        model.InitState(_state.Span);
    }

    /// <summary>The model this session runs.</summary>
    public ILanguageModel Model { get; }

    /// <summary>Tokens consumed so far (read from the state, so snapshots carry it).</summary>
    public long Position => Model.Position(State);

    /// <summary>Whether <see cref="Logits"/> holds the logits after the last consumed token (false before the first token).</summary>
    public bool HasLogits => Position > 0;

    /// <summary>Logits after the last consumed token: <see cref="ILanguageModel.LogitsLength"/> floats, valid until the next call.</summary>
    public ReadOnlySpan<float> Logits
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _logits.Span;
        }
    }

    /// <summary>The state block (<see cref="IModel.StateLength"/> floats).</summary>
    public ReadOnlySpan<float> State
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _state.Span;
        }
    }

    /// <summary>Floats written by <see cref="Snapshot"/>: the state followed by the last logits.</summary>
    public int SnapshotLength => Model.StateLength + Model.LogitsLength;

    /// <summary>Consumes <paramref name="tokens"/> with the model's prefill and keeps the last token's logits.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A token is not in <c>[0, VocabSize)</c>; nothing was consumed.</exception>
    public void Append(ReadOnlySpan<int> tokens)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (tokens.IsEmpty) return;
        for (int i = 0; i < tokens.Length; i++) CheckToken(tokens[i], i);
        Model.Prefill(tokens, _state.Span, _logits.Span, _scratch);
    }

    /// <summary>Consumes one token with the model's recurrent step and keeps its logits. Allocates nothing.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="token"/> is not in <c>[0, VocabSize)</c>.</exception>
    public void Step(int token)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        CheckToken(token, 0);
        Model.Step(token, _state.Span, _logits.Span, _scratch);
    }

    /// <summary>Forgets the conversation: empty-history state, zero logits.</summary>
    public void Reset()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Model.InitState(_state.Span);
        _logits.Span.Clear();
    }

    /// <summary>Copies the state and the last logits into <paramref name="destination"/> (<see cref="SnapshotLength"/> floats).</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> has the wrong length.</exception>
    public void Snapshot(Span<float> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (destination.Length != SnapshotLength) ThrowHelper.LengthMismatch(nameof(destination), destination.Length, SnapshotLength);
        _state.Span.CopyTo(destination);
        _logits.Span.CopyTo(destination[Model.StateLength..]);
    }

    /// <summary>Continues from a snapshot taken by <see cref="Snapshot"/> on a session of the same model.</summary>
    /// <exception cref="ArgumentException"><paramref name="source"/> has the wrong length.</exception>
    public void Restore(ReadOnlySpan<float> source)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (source.Length != SnapshotLength) ThrowHelper.LengthMismatch(nameof(source), source.Length, SnapshotLength);
        source[..Model.StateLength].CopyTo(_state.Span);
        source[Model.StateLength..].CopyTo(_logits.Span);
    }

    /// <summary>Frees the state, logits and scratch (not the model).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _scratch.Dispose();
        _logits.Dispose();
        _state.Dispose();
    }

    private void CheckToken(int token, int index)
    {
        if ((uint)token >= (uint)Model.VocabSize)
            throw new ArgumentOutOfRangeException("tokens", token, $"session: token {index} is {token}, expected an id in [0, {Model.VocabSize})");
    }
}
