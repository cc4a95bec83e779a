using EdgeRuntime.Core.Memory;
using EdgeRuntime.Messaging.Protocol;
using EdgeRuntime.Models.Sessions;
using EdgeRuntime.Service.Hosting;
using EdgeRuntime.Service.Options;
using Microsoft.Extensions.Logging;

namespace EdgeRuntime.Service.Inference;

/// <summary>One named session: its state (a language-model <see cref="InferenceSession"/>, or a sequence model's state and scratch).</summary>
/// <remarks>Used by one request at a time (<see cref="SessionStore"/> hands out exclusive leases).</remarks>
public sealed class SessionSlot : IDisposable
{
    internal SessionSlot(string id, LoadedModel model)
    {
        Id = id;
        if (model.Language is { } language)
        {
            Language = new InferenceSession(language);
        }
        else
        {
            var sequence = model.Sequence!;
            State = new NativeBuffer(sequence.StateLength);
            Scratch = sequence.CreateScratch();
            sequence.InitState(State.Span);
        }
    }

    /// <summary>The session id.</summary>
    public string Id { get; }

    /// <summary>Language models: the conversation.</summary>
    public InferenceSession? Language { get; }

    /// <summary>Sequence models: the state block.</summary>
    public NativeBuffer? State { get; }

    /// <summary>Sequence models: the scratch.</summary>
    public ModelScratch? Scratch { get; }

    /// <summary>A generated token not yet fed to the model (fed at the start of the next request), or -1.</summary>
    public int PendingToken { get; set; } = -1;

    internal bool InUse { get; set; }

    internal long LastUsed { get; set; }

    /// <summary>Forgets the history.</summary>
    public void Reset(LoadedModel model)
    {
        PendingToken = -1;
        if (Language is not null) Language.Reset();
        else model.Sequence!.InitState(State!.Span);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Language?.Dispose();
        Scratch?.Dispose();
        State?.Dispose();
    }
}

/// <summary>One model's named sessions: in memory up to <c>Limits:ConcurrentSessions</c>, persisted as snapshots in a directory.</summary>
/// <remarks>
/// <see cref="Acquire"/> gives a request exclusive use of a session: from memory, else loaded from its snapshot (checked
/// against the model: another model's or a corrupt snapshot is never loaded), else created. <see cref="Release"/> writes
/// the snapshot (temp file + rename) and marks it idle; the least recently used idle sessions beyond the limit are then
/// evicted from memory (they stay on disk). Each served model has its own store, so a generate session and an infer
/// session may share a name. Thread-safe.
/// </remarks>
public sealed partial class SessionStore : IDisposable
{
    /// <summary>Subdirectory of <c>Sessions:Directory</c> holding the sessions of the model named by <c>InferModel</c>
    /// (the model named by <c>Model</c> keeps the directory itself, as when it was the only one).</summary>
    public const string InferModelSubdirectory = "infer";

    private readonly Dictionary<string, SessionSlot> _slots = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly LoadedModel _model;
    private readonly bool _persist;
    private readonly int _capacity;
    private readonly ILogger<SessionStore> _logger;
    private long _clock;

    /// <summary>Creates the store; the directory is created on first write.</summary>
    /// <param name="model">The model whose sessions these are.</param>
    /// <param name="directory">Where its snapshots go.</param>
    /// <param name="persist">Write a snapshot after each request that changed a session (<c>Sessions:Persist</c>).</param>
    /// <param name="capacity">Sessions kept in memory (<c>Limits:ConcurrentSessions</c>).</param>
    /// <param name="logger">Restores, failures, evictions.</param>
    public SessionStore(LoadedModel model, string directory, bool persist, int capacity, ILogger<SessionStore> logger)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _model = model;
        _persist = persist;
        _capacity = capacity;
        _logger = logger;
        Directory = directory;
    }

    /// <summary>The snapshot directory of <paramref name="model"/>'s sessions under <paramref name="sessionsDirectory"/>.</summary>
    public static string DirectoryFor(LoadedModel model, string sessionsDirectory)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.Section == InferModelOptions.Section ? Path.Combine(sessionsDirectory, InferModelSubdirectory) : sessionsDirectory;
    }

    /// <summary>The snapshot directory.</summary>
    public string Directory { get; }

    /// <summary>Sessions in memory.</summary>
    public int InMemory
    {
        get { lock (_gate) return _slots.Count; }
    }

    /// <summary>The snapshot file of session <paramref name="id"/> (a validated id: no separators).</summary>
    public string PathOf(string id) => Path.Combine(Directory, id + ".snap");

    /// <summary>Takes exclusive use of session <paramref name="id"/>.</summary>
    /// <param name="id">A valid session id.</param>
    /// <param name="create">Create it when it exists nowhere (false: <c>not_found</c>).</param>
    /// <param name="reset">Start it afresh (ignores, and later overwrites, an existing snapshot).</param>
    /// <param name="error">Why it cannot be used: <c>busy</c>, <c>not_found</c>, <c>session_invalid</c>.</param>
    public SessionSlot? Acquire(string id, bool create, bool reset, out ErrorInfo? error)
    {
        var model = _model;
        error = null;
        lock (_gate)
        {
            if (_slots.TryGetValue(id, out var slot))
            {
                if (slot.InUse)
                {
                    error = new ErrorInfo(ErrorCodes.Busy, $"session '{id}' is in use by another request; send the next request after its final message");
                    return null;
                }
                slot.InUse = true;
                slot.LastUsed = ++_clock;
                if (reset) slot.Reset(model);
                return slot;
            }

            string path = PathOf(id);
            bool onDisk = !reset && _persist && File.Exists(path);
            if (!onDisk && !create)
            {
                error = new ErrorInfo(ErrorCodes.NotFound, $"session '{id}' does not exist; start it with a prompt (\"prompt\" or \"tokens\")");
                return null;
            }

            slot = new SessionSlot(id, model);
            if (onDisk && !TryRestore(slot, path, model, out error))
            {
                slot.Dispose();
                return null;
            }
            slot.InUse = true;
            slot.LastUsed = ++_clock;
            _slots[id] = slot;
            EvictIdle();
            return slot;
        }
    }

    /// <summary>Ends a request's use of <paramref name="slot"/>.</summary>
    /// <param name="slot">From <see cref="Acquire"/>.</param>
    /// <param name="save">Keep it (after a request that ran or was rejected); false after a model failure: the in-memory
    /// copy is dropped so the next request starts from the last good snapshot.</param>
    /// <param name="changed">Whether the request changed the state; only then is a snapshot written.</param>
    public void Release(SessionSlot slot, bool save, bool changed = true)
    {
        ArgumentNullException.ThrowIfNull(slot);
        if (save && changed && _persist) Save(slot);
        lock (_gate)
        {
            slot.InUse = false;
            if (!save)
            {
                _slots.Remove(slot.Id);
                slot.Dispose();
                return;
            }
            EvictIdle();
        }
    }

    private void Save(SessionSlot slot)
    {
        var model = _model;
        var identity = model.SnapshotIdentity;
        var payload = new float[identity.PayloadLength];
        long position;
        if (slot.Language is { } session)
        {
            session.Snapshot(payload);
            position = session.Position;
        }
        else
        {
            slot.State!.Span.CopyTo(payload);
            position = model.Model.Position(slot.State.Span);
        }
        try
        {
            System.IO.Directory.CreateDirectory(Directory);
            SessionSnapshot.Write(PathOf(slot.Id), identity, new SnapshotState(position, slot.PendingToken), payload);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The session stays usable in memory; only durability is lost.
            LogSaveFailed(_logger, slot.Id, ex.Message);
        }
    }

    private bool TryRestore(SessionSlot slot, string path, LoadedModel model, out ErrorInfo? error)
    {
        error = null;
        var identity = model.SnapshotIdentity;
        var payload = new float[identity.PayloadLength];
        try
        {
            var state = SessionSnapshot.Read(path, identity, payload);
            ReadOnlySpan<float> stateBlock = payload.AsSpan(0, identity.StateLength);
            long position = model.Model.Position(stateBlock);
            if (position != state.Position)
                throw new SessionSnapshotException($"snapshot: position in '{path}': expected {state.Position} (header), got {position} (state); corrupt");
            if (state.PendingToken < -1 || (model.Language is { } lm && state.PendingToken >= lm.VocabSize))
                throw new SessionSnapshotException($"snapshot: pending token in '{path}': expected -1 or an id in [0, {model.Language?.VocabSize ?? 0}), got {state.PendingToken}; corrupt");
            if (slot.Language is { } session) session.Restore(payload);
            else stateBlock.CopyTo(slot.State!.Span);
            slot.PendingToken = state.PendingToken;
            LogRestored(_logger, slot.Id, position);
            return true;
        }
        catch (Exception ex) when (ex is SessionSnapshotException or IOException or UnauthorizedAccessException)
        {
            LogRestoreFailed(_logger, slot.Id, ex.Message);
            error = new ErrorInfo(ErrorCodes.SessionInvalid, $"session '{slot.Id}' cannot be loaded: {ex.Message}; send \"reset\": true to start it afresh");
            return false;
        }
    }

    /// <summary>Evicts least recently used idle sessions beyond capacity (under the lock).</summary>
    private void EvictIdle()
    {
        while (_slots.Count > _capacity)
        {
            SessionSlot? oldest = null;
            foreach (var slot in _slots.Values)
            {
                if (!slot.InUse && (oldest is null || slot.LastUsed < oldest.LastUsed)) oldest = slot;
            }
            if (oldest is null) return;
            _slots.Remove(oldest.Id);
            oldest.Dispose();
            LogEvicted(_logger, oldest.Id);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var slot in _slots.Values) slot.Dispose();
            _slots.Clear();
        }
    }

    [LoggerMessage(20, LogLevel.Information, "Session '{Session}' restored from its snapshot at position {Position}")]
    private static partial void LogRestored(ILogger logger, string session, long position);

    [LoggerMessage(21, LogLevel.Warning, "Session '{Session}' not loaded: {Reason}")]
    private static partial void LogRestoreFailed(ILogger logger, string session, string reason);

    [LoggerMessage(22, LogLevel.Error, "Session '{Session}' snapshot not written: {Reason}")]
    private static partial void LogSaveFailed(ILogger logger, string session, string reason);

    [LoggerMessage(23, LogLevel.Debug, "Session '{Session}' evicted from memory (its snapshot stays on disk)")]
    private static partial void LogEvicted(ILogger logger, string session);
}
