using System.Buffers;
using System.Text;

namespace EdgeRuntime.Models.Tokenizers;

/// <summary>Turns a stream of token ids into text, emitting only complete UTF-8 characters (candle <c>TokenOutputStream</c>, ORT-GenAI <c>TokenizerStream</c>).</summary>
/// <remarks>
/// Each token's exact bytes (<see cref="ITextTokenizer.TokenBytes"/>) are appended to a small buffer; everything up to a
/// trailing, still-incomplete UTF-8 sequence is decoded and returned, the incomplete tail (at most 3 bytes) waits for
/// the next token. Invalid bytes become U+FFFD as soon as they are known to be invalid; <see cref="Flush"/> turns a
/// held incomplete tail into U+FFFD. Special tokens (BOS, EOS, …) and ids outside the tokenizer (a padded model
/// vocabulary) add no text. The text continues earlier text: SentencePiece's leading "▁" stays a space.
/// Not thread-safe: one stream per generation.
/// </remarks>
public sealed class TokenTextStream
{
    private readonly ITextTokenizer _tokenizer;
    private byte[] _pending = new byte[64];
    private int _pendingLength;

    /// <summary>Creates a stream over <paramref name="tokenizer"/>.</summary>
    public TokenTextStream(ITextTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        _tokenizer = tokenizer;
    }

    /// <summary>Bytes held back because they end inside a character.</summary>
    public int PendingByteCount => _pendingLength;

    /// <summary>Adds one token; returns true with the newly completed text, false (and "") when nothing is complete yet.</summary>
    public bool TryPush(int token, out string text)
    {
        if ((uint)token >= (uint)_tokenizer.VocabSize || _tokenizer.IsSpecial(token))
        {
            text = string.Empty;
            return false;
        }
        ReadOnlySpan<byte> bytes = _tokenizer.TokenBytes(token);
        if (_pendingLength + bytes.Length > _pending.Length)
            Array.Resize(ref _pending, Math.Max(_pending.Length * 2, _pendingLength + bytes.Length));
        bytes.CopyTo(_pending.AsSpan(_pendingLength));
        _pendingLength += bytes.Length;

        int complete = CompleteLength(_pending.AsSpan(0, _pendingLength));
        if (complete == 0)
        {
            text = string.Empty;
            return false;
        }
        text = Encoding.UTF8.GetString(_pending, 0, complete);
        _pending.AsSpan(complete, _pendingLength - complete).CopyTo(_pending);
        _pendingLength -= complete;
        return true;
    }

    /// <summary>Returns the held-back bytes as text (an incomplete character becomes U+FFFD) and empties the stream.</summary>
    public string Flush()
    {
        if (_pendingLength == 0) return string.Empty;
        string text = Encoding.UTF8.GetString(_pending, 0, _pendingLength);
        _pendingLength = 0;
        return text;
    }

    /// <summary>Drops held-back bytes.</summary>
    public void Reset() => _pendingLength = 0;

    /// <summary>Length of the prefix that can be decoded now: all of it but a trailing sequence that may still complete.</summary>
    internal static int CompleteLength(ReadOnlySpan<byte> bytes)
    {
        int index = 0;
        while (index < bytes.Length)
        {
            var status = System.Text.Rune.DecodeFromUtf8(bytes[index..], out _, out int consumed);
            // NeedMoreData: a valid start of a character that the next token may finish (only possible at the end).
            if (status == OperationStatus.NeedMoreData) return index;
            index += consumed; // Done, or InvalidData (decoded as U+FFFD now)
        }
        return index;
    }
}
