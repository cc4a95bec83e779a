using System.Diagnostics;
using EdgeRuntime.Core.Memory;
using EdgeRuntime.Messaging;
using EdgeRuntime.Messaging.Protocol;
using EdgeRuntime.Models.Generation;
using EdgeRuntime.Models.Sampling;
using EdgeRuntime.Models.Sessions;
using EdgeRuntime.Models.Tokenizers;
using EdgeRuntime.Service.Hosting;
using Microsoft.Extensions.Logging;

namespace EdgeRuntime.Service.Inference;

/// <summary>What every worker shares: the models (each with its sessions), the queue, the reply publisher, limits and health.</summary>
/// <param name="Generate">The language model answering generate, or null (the parser then rejects generate requests).</param>
/// <param name="Infer">The sequence model answering infer, or null (the parser then rejects infer requests).</param>
/// <remarks>Immutable; the members are thread-safe.</remarks>
internal sealed record WorkerContext(
    ModelSessions? Generate,
    ModelSessions? Infer,
    WorkQueue Queue,
    ReplyPublisher Replies,
    WorkerHealth Health,
    TimeSpan ChunkFlush,
    int MaxPromptTokens,
    ILogger Logger);

/// <summary>One served model and its named sessions.</summary>
/// <remarks>Immutable; disposing it disposes the session store (the model belongs to <see cref="ServedModels"/>).</remarks>
internal sealed class ModelSessions(LoadedModel model, SessionStore sessions) : IDisposable
{
    /// <summary>The model.</summary>
    public LoadedModel Model { get; } = model;

    /// <summary>Its named sessions.</summary>
    public SessionStore Sessions { get; } = sessions;

    /// <inheritdoc />
    public void Dispose() => Sessions.Dispose();
}

/// <summary>One inference worker: takes requests off the queue and runs them to their final message, one at a time.</summary>
/// <remarks>
/// Runs on its own thread (model steps are long, synchronous CPU work that must not starve the thread pool the MQTT
/// client runs on). Owns a scratch session per model for requests that name none, created on its first such request.
/// Not thread-safe: one thread per worker.
/// </remarks>
internal sealed partial class InferenceWorker : IDisposable
{
    private const int InferBlock = 256;

    private readonly int _index;
    private readonly WorkerContext _context;
    private readonly CancellationToken _stopping;
    private InferenceSession? _scratchSession;
    private NativeBuffer? _scratchState;
    private ModelScratch? _scratchModel;
    private bool _touched; // whether the current request changed its session's state (else nothing to save)

    public InferenceWorker(int index, WorkerContext context, CancellationToken stopping)
    {
        _index = index;
        _context = context;
        _stopping = stopping;
    }

    /// <summary>Serves requests until the queue is closed and drained.</summary>
    public void Run()
    {
        var reader = _context.Queue.Reader;
        while (true)
        {
            if (!reader.TryRead(out var item))
            {
                if (!reader.WaitToReadAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult()) return;
                continue;
            }
            _context.Health.Busy(_index);
            try
            {
                Process(item);
            }
            finally
            {
                _context.Health.Idle(_index);
                _context.Queue.Complete(item);
                item.Dispose();
            }
        }
    }

    private void Process(WorkItem item)
    {
        var route = item.Request.Reply;
        try
        {
            if (item.Cancellation.IsCancellationRequested)
            {
                SendFinal(route, Cancelled(item, 0));
                return;
            }
            if ((item.Request.Kind == RequestKind.Generate ? _context.Generate : _context.Infer) is not { } served)
            {
                // The parser rejects requests to a topic without a model; this is only a guard.
                Reject(item, new ErrorInfo(ErrorCodes.Unsupported, $"no model serves {item.Request.Kind} requests on this node"));
                return;
            }
            if (item.Request.Kind == RequestKind.Generate) Generate(item, served);
            else Infer(item, served);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // Shutting down with the broker unreachable: the reply cannot be delivered.
        }
        catch (Exception ex)
        {
            LogInternal(_context.Logger, item.Id, ex);
            TrySendError(route, new ErrorInfo(ErrorCodes.Internal, $"internal error: {ex.Message}"), 0);
        }
    }

    private void Generate(WorkItem item, ModelSessions served)
    {
        var spec = item.Request.Generate!;
        var route = item.Request.Reply;

        SessionSlot? slot = null;
        InferenceSession session;
        if (spec.Session is { } name)
        {
            slot = served.Sessions.Acquire(name, create: !spec.IsContinuation, reset: spec.Reset, out var sessionError);
            if (slot is null)
            {
                Reject(item, sessionError!);
                return;
            }
            session = slot.Language!;
        }
        else
        {
            session = _scratchSession ??= new InferenceSession(served.Model.Language!);
            session.Reset();
        }

        bool keepState = true;
        _touched = false;
        var coalescer = new ChunkCoalescer(item.Id, _context.ChunkFlush);
        FinalMessage final;
        try
        {
            final = RunGenerate(item, spec, served.Model, session, slot, coalescer);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The model (or tokenizer) failed: its state is undefined, so the session is not saved.
            keepState = false;
            LogModelError(_context.Logger, item.Id, ex);
            if (coalescer.Flush() is { } rest) SendChunk(route, rest);
            final = ReplyPublisher.ErrorFinal(item.Id, new ErrorInfo(ErrorCodes.ModelError, $"the model failed: {ex.Message}"), coalescer.TakeFinalSeq());
        }
        finally
        {
            // Saved (and free for the next request) before the client hears the request is over.
            if (slot is not null) served.Sessions.Release(slot, save: keepState, changed: _touched);
        }
        SendFinal(route, final);
    }

    /// <summary>Runs one generate request on <paramref name="session"/>, streaming chunks; returns the final message (an error final for a rejected request).</summary>
    private FinalMessage RunGenerate(WorkItem item, GenerateSpec spec, LoadedModel model, InferenceSession session, SessionSlot? slot, ChunkCoalescer coalescer)
    {
        var route = item.Request.Reply;
        var token = item.Cancellation.Token;
        int pending = slot?.PendingToken ?? -1;
        int[] prompt = spec.Tokens ?? (spec.Prompt is null ? [] : Encode(model.Tokenizer!, spec.Prompt, atStart: session.Position == 0 && pending < 0));
        if (prompt.Length > _context.MaxPromptTokens)
            return Rejected(item, new ErrorInfo(ErrorCodes.TooLarge, $"prompt is {prompt.Length} tokens, expected at most {_context.MaxPromptTokens} (Limits:MaxPromptTokens)"));
        if (prompt.Length == 0 && pending < 0 && !session.HasLogits)
            return Rejected(item, new ErrorInfo(ErrorCodes.BadRequest, $"session '{spec.Session}' has no history yet; send \"prompt\" or \"tokens\""));
        var options = new GeneratorOptions
        {
            MaxTokens = spec.MaxTokens,
            StopStrings = spec.Stop,
            Sampling = new SamplerOptions
            {
                Temperature = spec.Temperature,
                TopP = spec.TopP,
                TopK = spec.TopK,
                MinP = spec.MinP,
                RepetitionPenalty = spec.RepeatPenalty,
                RepeatLastN = spec.RepeatLastN,
                Seed = spec.Seed,
            },
        };
        if (!options.TryValidate(out string? problem)) return Rejected(item, new ErrorInfo(ErrorCodes.BadRequest, problem));

        var generator = new Generator(session, model.Tokenizer, options, token);
        _touched = true;
        if (pending >= 0)
        {
            // The last token of the previous request was never fed to the model (generation feeds it lazily).
            session.Step(pending);
            slot!.PendingToken = -1;
        }
        for (int offset = 0; offset < prompt.Length && !token.IsCancellationRequested; offset += options.PromptChunk)
        {
            generator.AppendPrompt(prompt.AsSpan(offset, Math.Min(options.PromptChunk, prompt.Length - offset)));
            _context.Health.Progress(_index);
        }

        int last = -1;
        // Cancelled during the prompt: there may be no logits to sample from, so do not start (finish reason stays null).
        bool cancelledEarly = token.IsCancellationRequested;
        while (!cancelledEarly && generator.TryNextToken(out int next, out string text))
        {
            _context.Health.Progress(_index);
            if (next >= 0) last = next;
            if (coalescer.Add(next, text, out var chunk)) SendChunk(route, chunk!);
        }
        if (coalescer.Flush() is { } rest) SendChunk(route, rest);
        if (slot is not null && last >= 0) slot.PendingToken = last;

        var usage = generator.Usage;
        var timings = generator.Timings;
        bool cancelled = generator.FinishReason is null or FinishReason.Cancelled;
        return new FinalMessage
        {
            Id = item.Id,
            Seq = coalescer.TakeFinalSeq(),
            FinishReason = cancelled ? "cancelled" : Lower(generator.FinishReason!.Value),
            Error = cancelled && item.ShuttingDown ? Unavailable : null,
            Usage = new Usage(usage.PromptTokens, usage.CompletionTokens),
            Timings = new Timings(Round(timings.PromptMs), Round(timings.PromptTokensPerSecond), Round(timings.DecodeMs), Round(timings.DecodeTokensPerSecond)),
            Session = spec.Session,
            Position = slot is null ? null : session.Position + (slot.PendingToken >= 0 ? 1 : 0),
            Seed = spec.Seed,
        };
    }

    private void Infer(WorkItem item, ModelSessions served)
    {
        var spec = item.Request.Infer!;
        var route = item.Request.Reply;
        var model = served.Model.Sequence!;

        SessionSlot? slot = null;
        NativeBuffer state;
        ModelScratch scratch;
        if (spec.Session is { } name)
        {
            slot = served.Sessions.Acquire(name, create: true, reset: spec.Reset, out var sessionError);
            if (slot is null)
            {
                Reject(item, sessionError!);
                return;
            }
            state = slot.State!;
            scratch = slot.Scratch!;
        }
        else
        {
            state = _scratchState ??= new NativeBuffer(model.StateLength);
            scratch = _scratchModel ??= model.CreateScratch();
            model.InitState(state.Span);
        }

        bool keepState = true;
        _touched = false;
        FinalMessage final;
        try
        {
            final = RunInfer(item, spec, model, state, scratch, slot is not null);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            keepState = false;
            LogModelError(_context.Logger, item.Id, ex);
            final = ReplyPublisher.ErrorFinal(item.Id, new ErrorInfo(ErrorCodes.ModelError, $"the model failed: {ex.Message}"), 0);
        }
        finally
        {
            if (slot is not null) served.Sessions.Release(slot, save: keepState, changed: _touched);
        }
        SendFinal(route, final);
    }

    /// <summary>Feeds the input steps in blocks (checking for cancellation between them) and returns the final message with every output.</summary>
    private FinalMessage RunInfer(WorkItem item, InferSpec spec, ISequenceModel model, NativeBuffer state, ModelScratch scratch, bool named)
    {
        var token = item.Cancellation.Token;
        int width = model.InputLength, outWidth = model.OutputLength;
        var outputs = new float[spec.Steps * outWidth];
        long started = Stopwatch.GetTimestamp();
        int done = 0;
        while (done < spec.Steps && !token.IsCancellationRequested)
        {
            int n = Math.Min(InferBlock, spec.Steps - done);
            _touched = true;
            model.Prefill(spec.Inputs.AsSpan(done * width, n * width), state.Span, outputs.AsSpan(done * outWidth, n * outWidth), scratch);
            done += n;
            _context.Health.Progress(_index);
        }
        double ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var rows = new float[done][];
        for (int i = 0; i < done; i++) rows[i] = outputs.AsSpan(i * outWidth, outWidth).ToArray();
        bool cancelled = done < spec.Steps;
        return new FinalMessage
        {
            Id = item.Id,
            Seq = 0,
            FinishReason = cancelled ? "cancelled" : "stop",
            Error = cancelled && item.ShuttingDown ? Unavailable : null,
            Usage = new Usage(done, 0),
            Timings = new Timings(Round(ms), Round(ms > 0 ? done * 1000.0 / ms : 0), 0, 0),
            Session = spec.Session,
            Position = named ? model.Position(state.Span) : null,
            Outputs = rows,
        };
    }

    private static int[] Encode(ITextTokenizer tokenizer, string prompt, bool atStart)
    {
        int[] ids = tokenizer.Encode(prompt);
        if (atStart && tokenizer.AddBos && tokenizer.BosId >= 0 && (ids.Length == 0 || ids[0] != tokenizer.BosId)) ids = [tokenizer.BosId, .. ids];
        return ids;
    }

    private void Reject(WorkItem item, ErrorInfo error) => SendFinal(item.Request.Reply, Rejected(item, error));

    private FinalMessage Rejected(WorkItem item, ErrorInfo error)
    {
        LogRequestError(_context.Logger, item.Id, error.Code, error.Message);
        return ReplyPublisher.ErrorFinal(item.Id, error, 0);
    }

    private static FinalMessage Cancelled(WorkItem item, int seq) => new()
    {
        Id = item.Id,
        Seq = seq,
        FinishReason = "cancelled",
        Error = item.ShuttingDown ? Unavailable : null,
        Usage = new Usage(0, 0),
    };

    private static ErrorInfo Unavailable => new(ErrorCodes.Unavailable, "the service is shutting down");

    private void SendChunk(ReplyRoute route, ChunkMessage chunk) => Wait(_context.Replies.SendChunkAsync(route, chunk, _stopping));

    private void SendFinal(ReplyRoute route, FinalMessage final) => Wait(_context.Replies.SendFinalAsync(route, final, _stopping));

    private void SendError(ReplyRoute route, ErrorInfo error, int seq) => Wait(_context.Replies.SendErrorAsync(route, error, seq, _stopping));

    private void TrySendError(ReplyRoute route, ErrorInfo error, int seq)
    {
        try
        {
            SendError(route, error, seq);
        }
        catch (Exception ex) when (ex is OperationCanceledException or InvalidOperationException)
        {
            // Shutting down: nothing can be sent any more.
        }
    }

    /// <summary>Blocks this worker thread until the outbox took the message (it waits only while the outbox is full,
    /// i.e. the broker has been unreachable for a while); waiting for the broker is not a stall, so it counts as progress.</summary>
    private void Wait(ValueTask pending)
    {
        if (pending.IsCompletedSuccessfully) return;
        var task = pending.AsTask();
        while (!((IAsyncResult)task).AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(1))) _context.Health.Progress(_index);
        task.GetAwaiter().GetResult();
    }

    private static string Lower(FinishReason reason) => reason switch
    {
        FinishReason.Stop => "stop",
        FinishReason.Length => "length",
        FinishReason.Cancelled => "cancelled",
        _ => "error",
    };

    private static double Round(double value) => Math.Round(value, 3);

    /// <inheritdoc />
    public void Dispose()
    {
        _scratchSession?.Dispose();
        _scratchModel?.Dispose();
        _scratchState?.Dispose();
    }

    [LoggerMessage(30, LogLevel.Warning, "Rejected a request (id {Id}): {Code}: {Message}")]
    private static partial void LogRequestError(ILogger logger, string id, string code, string message);

    [LoggerMessage(31, LogLevel.Error, "Request '{Id}': the model failed")]
    private static partial void LogModelError(ILogger logger, string id, Exception exception);

    [LoggerMessage(32, LogLevel.Error, "Request '{Id}': internal error")]
    private static partial void LogInternal(ILogger logger, string id, Exception exception);
}
