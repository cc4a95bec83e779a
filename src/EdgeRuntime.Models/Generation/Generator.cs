using System.Diagnostics;
using EdgeRuntime.Models.Sampling;
using EdgeRuntime.Models.Sessions;
using EdgeRuntime.Models.Tokenizers;

namespace EdgeRuntime.Models.Generation;

/// <summary>Generates text on an <see cref="InferenceSession"/>, token by token (the shape of ONNX Runtime GenAI's <c>Generator</c>).</summary>
/// <remarks>
/// <para>A round is: <see cref="AppendPrompt(string)"/> (once or more), then <see cref="TryNextToken"/> until it returns
/// false; <see cref="FinishReason"/>, <see cref="Usage"/> and <see cref="Timings"/> then describe the round. Appending
/// another prompt starts the next round on the same session, so a conversation continues from where it stopped.</para>
/// <para>The last generated token is fed to the model lazily, when the next token or prompt needs it, so finishing
/// costs no wasted step. Stops: the tokenizer's EOS (when <see cref="GeneratorOptions.StopOnEos"/>) and
/// <see cref="GeneratorOptions.StopTokens"/> end the round and add no text; stop strings end it and are not emitted
/// (text that may begin one is held back until decided); <see cref="GeneratorOptions.MaxTokens"/> gives "length"; the
/// cancellation token gives "cancelled"; an exception from the model gives "error" and is rethrown (the session's
/// state is then undefined: <see cref="InferenceSession.Reset"/> it or restore a snapshot).</para>
/// <para>The repetition-penalty history holds the tokens appended and generated through this generator.
/// Not thread-safe: one generator per session, driven from one thread at a time.</para>
/// </remarks>
public sealed class Generator
{
    private readonly InferenceSession _session;
    private readonly ITextTokenizer? _tokenizer;
    private readonly GeneratorOptions _options;
    private readonly CancellationToken _cancellation;
    private readonly Sampler _sampler;
    private readonly TokenTextStream? _stream;
    private readonly StopStringMatcher _stops;
    private readonly int[] _stopTokens;

    private int _pendingToken = -1;
    private bool _roundStarted;
    private FinishReason? _finish;
    private int _promptTokens;
    private int _completionTokens;
    private long _promptTicks;
    private long _decodeTicks;

    /// <summary>Creates a generator on <paramref name="session"/>.</summary>
    /// <param name="session">The conversation; stays owned by the caller.</param>
    /// <param name="tokenizer">Text in and out; null for id-only use (no text, no stop strings, no EOS unless in <see cref="GeneratorOptions.StopTokens"/>).</param>
    /// <param name="options">Limits, stops and sampling; null = defaults.</param>
    /// <param name="cancellationToken">Ends the round with <see cref="Generation.FinishReason.Cancelled"/> when fired.</param>
    /// <exception cref="ArgumentException">Options out of range, or stop strings without a tokenizer.</exception>
    public Generator(InferenceSession session, ITextTokenizer? tokenizer, GeneratorOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(session);
        options ??= new GeneratorOptions();
        options.Validate();
        if (tokenizer is null && options.StopStrings.Count > 0)
            throw new ArgumentException("generator: stop strings need a tokenizer", nameof(options));
        _session = session;
        _tokenizer = tokenizer;
        _options = options;
        _cancellation = cancellationToken;
        _sampler = new Sampler(session.Model.VocabSize, options.Sampling);
        _stream = tokenizer is null ? null : new TokenTextStream(tokenizer);
        _stops = new StopStringMatcher(options.StopStrings);
        var stopTokens = new List<int>(options.StopTokens);
        if (options.StopOnEos && tokenizer is { EosId: >= 0 }) stopTokens.Add(tokenizer.EosId);
        _stopTokens = [.. stopTokens];
    }

    /// <summary>The session generated on.</summary>
    public InferenceSession Session => _session;

    /// <summary>Whether the current round has finished.</summary>
    public bool IsDone => _finish is not null;

    /// <summary>Why the round finished; null while it runs.</summary>
    public FinishReason? FinishReason => _finish;

    /// <summary>Token counts of the current round.</summary>
    public GenerationUsage Usage => new(_promptTokens, _completionTokens);

    /// <summary>Timings of the current round.</summary>
    public GenerationTimings Timings =>
        new(Stopwatch.GetElapsedTime(0, _promptTicks).TotalMilliseconds, _promptTokens,
            Stopwatch.GetElapsedTime(0, _decodeTicks).TotalMilliseconds, _completionTokens);

    /// <summary>Encodes <paramref name="text"/> and appends it; at the start of a sequence BOS goes first when the tokenizer asks for it.</summary>
    /// <exception cref="InvalidOperationException">The generator has no tokenizer.</exception>
    public void AppendPrompt(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (_tokenizer is null) throw new InvalidOperationException("generator: text prompts need a tokenizer; append token ids instead");
        int[] ids = _tokenizer.Encode(text);
        bool atStart = _session.Position == 0 && _pendingToken < 0;
        if (atStart && _tokenizer.AddBos && _tokenizer.BosId >= 0 && (ids.Length == 0 || ids[0] != _tokenizer.BosId))
            ids = [_tokenizer.BosId, .. ids];
        AppendPrompt(ids);
    }

    /// <summary>Appends prompt token ids verbatim (prefill, in chunks of <see cref="GeneratorOptions.PromptChunk"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is not in <c>[0, VocabSize)</c>; nothing was appended.</exception>
    public void AppendPrompt(ReadOnlySpan<int> tokens)
    {
        int vocab = _session.Model.VocabSize;
        for (int i = 0; i < tokens.Length; i++)
        {
            if ((uint)tokens[i] >= (uint)vocab)
                throw new ArgumentOutOfRangeException(nameof(tokens), tokens[i], $"generator: prompt token {i} is {tokens[i]}, expected an id in [0, {vocab})");
        }
        if (_roundStarted || _finish is not null) StartRound();

        long start = Stopwatch.GetTimestamp();
        try
        {
            if (_pendingToken >= 0)
            {
                _session.Step(_pendingToken);
                _pendingToken = -1;
            }
            for (int offset = 0; offset < tokens.Length; offset += _options.PromptChunk)
            {
                if (_cancellation.IsCancellationRequested)
                {
                    _finish = Generation.FinishReason.Cancelled;
                    break;
                }
                var chunk = tokens.Slice(offset, Math.Min(_options.PromptChunk, tokens.Length - offset));
                _session.Append(chunk);
                _sampler.Accept(chunk);
                _promptTokens += chunk.Length;
            }
        }
        catch
        {
            _finish = Generation.FinishReason.Error;
            throw;
        }
        finally
        {
            _promptTicks += Stopwatch.GetTimestamp() - start;
        }
    }

    /// <summary>Generates the next token.</summary>
    /// <param name="token">The generated id, or -1 when only final text is reported.</param>
    /// <param name="text">Text that became final with this call (may be empty: held back as part of a character or a possible stop string).</param>
    /// <returns>
    /// True while there is something to report: a token (with its text; the token that finishes the round comes with
    /// all remaining text), or, after cancellation, the held-back text with <paramref name="token"/> = -1. False once
    /// the round is over.
    /// </returns>
    /// <exception cref="InvalidOperationException">No prompt was appended.</exception>
    public bool TryNextToken(out int token, out string text)
    {
        token = -1;
        text = string.Empty;
        if (_finish is not null) return false;
        if (_pendingToken < 0 && !_session.HasLogits)
            throw new InvalidOperationException("generator: append a prompt before generating");
        _roundStarted = true;

        long start = Stopwatch.GetTimestamp();
        try
        {
            if (_cancellation.IsCancellationRequested || _completionTokens >= _options.MaxTokens)
            {
                _finish = _cancellation.IsCancellationRequested ? Generation.FinishReason.Cancelled : Generation.FinishReason.Length;
                text = FlushText();
                return text.Length > 0;
            }

            if (_pendingToken >= 0)
            {
                _session.Step(_pendingToken);
                _pendingToken = -1;
            }
            int next = _sampler.Sample(_session.Logits);
            _sampler.Accept(next);
            _completionTokens++;
            _pendingToken = next;
            token = next;

            if (Array.IndexOf(_stopTokens, next) >= 0)
            {
                _finish = Generation.FinishReason.Stop;
                text = FlushText();
                return true;
            }

            string piece = _stream is not null && _stream.TryPush(next, out string decoded) ? decoded : string.Empty;
            if (_stops.Push(piece, out string visible))
            {
                _finish = Generation.FinishReason.Stop;
                _stream?.Reset();
                text = visible;
                return true;
            }
            if (_completionTokens >= _options.MaxTokens)
            {
                _finish = Generation.FinishReason.Length;
                text = visible + FlushText();
                return true;
            }
            text = visible;
            return true;
        }
        catch
        {
            _finish = Generation.FinishReason.Error;
            throw;
        }
        finally
        {
            _decodeTicks += Stopwatch.GetTimestamp() - start;
        }
    }

    /// <summary>Releases bytes held for an incomplete character (as U+FFFD) and text held as a possible stop string.</summary>
    private string FlushText()
    {
        string tail = _stream?.Flush() ?? string.Empty;
        if (_stops.Push(tail, out string visible)) return visible;
        return visible + _stops.Flush();
    }

    private void StartRound()
    {
        _roundStarted = false;
        _finish = null;
        _promptTokens = 0;
        _completionTokens = 0;
        _promptTicks = 0;
        _decodeTicks = 0;
        _stops.Reset();
        _stream?.Reset();
    }
}
