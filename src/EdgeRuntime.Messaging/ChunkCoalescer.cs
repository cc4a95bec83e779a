using System.Diagnostics;
using System.Text;
using EdgeRuntime.Messaging.Protocol;

namespace EdgeRuntime.Messaging;

/// <summary>Groups generated tokens into chunks: the first token goes out at once, later ones at most every flush interval.</summary>
/// <remarks>
/// Nothing is reordered or dropped: every token and every piece of text lands in exactly one chunk, in order, and chunk
/// numbers run 0, 1, 2, ... with no gaps; <see cref="NextSeq"/> is the number the final message takes. With a zero
/// interval every token is its own chunk. Not thread-safe: one per request.
/// </remarks>
public sealed class ChunkCoalescer
{
    private readonly string _id;
    private readonly long _intervalTicks;
    private readonly TimeProvider _time;
    private readonly List<int> _tokens = [];
    private readonly StringBuilder _text = new();
    private long _lastFlush;
    private bool _any;

    /// <summary>Creates a coalescer for request <paramref name="id"/>.</summary>
    /// <param name="id">The request id written into every chunk.</param>
    /// <param name="flushInterval">Longest time a token waits for company (zero: no coalescing).</param>
    /// <param name="time">Clock (tests pass a fake one); default the system clock.</param>
    public ChunkCoalescer(string id, TimeSpan flushInterval, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentOutOfRangeException.ThrowIfLessThan(flushInterval, TimeSpan.Zero);
        _id = id;
        _time = time ?? TimeProvider.System;
        _intervalTicks = (long)(flushInterval.TotalSeconds * _time.TimestampFrequency);
    }

    /// <summary>The sequence number of the next chunk (or of the final message).</summary>
    public int NextSeq { get; private set; }

    /// <summary>Whether tokens or text wait to be flushed.</summary>
    public bool HasPending => _tokens.Count > 0 || _text.Length > 0;

    /// <summary>Adds one generated token and its text; returns a chunk when one is due.</summary>
    /// <param name="token">The token id, or -1 when only text is reported (held-back text released at the end).</param>
    /// <param name="text">Text that became final with it (may be empty).</param>
    /// <param name="chunk">The chunk to send now, or null.</param>
    public bool Add(int token, string text, out ChunkMessage? chunk)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (token >= 0) _tokens.Add(token);
        _text.Append(text);
        long now = _time.GetTimestamp();
        bool due = !_any || _intervalTicks == 0 || now - _lastFlush >= _intervalTicks;
        if (!due || !HasPending)
        {
            chunk = null;
            return false;
        }
        chunk = TakeChunk(now);
        return true;
    }

    /// <summary>Everything pending as one chunk (before the final message), or null when nothing is pending.</summary>
    public ChunkMessage? Flush() => HasPending ? TakeChunk(_time.GetTimestamp()) : null;

    /// <summary>Takes the next sequence number for the final message.</summary>
    public int TakeFinalSeq()
    {
        Debug.Assert(!HasPending, "flush before the final message");
        return NextSeq++;
    }

    private ChunkMessage TakeChunk(long now)
    {
        var chunk = new ChunkMessage { Id = _id, Seq = NextSeq++, Text = _text.ToString(), Tokens = [.. _tokens] };
        _tokens.Clear();
        _text.Clear();
        _lastFlush = now;
        _any = true;
        return chunk;
    }
}
