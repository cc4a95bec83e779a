namespace EdgeRuntime.Models.Tokenizers;

/// <summary>Text to token ids and token ids to UTF-8 bytes: what generation needs from a tokenizer.</summary>
/// <remarks>
/// Encoding treats its input as plain text: special-token strings such as <c>&lt;|endoftext|&gt;</c> are not parsed
/// into special ids (put special ids in with the id-based APIs instead), and no BOS or EOS is added.
/// <see cref="TokenBytes"/> gives a token's exact bytes, which may end inside a multi-byte UTF-8 character; stream them
/// through <see cref="TokenTextStream"/> to get complete text.
/// Implementations are immutable after loading and safe to share between threads.
/// </remarks>
public interface ITextTokenizer
{
    /// <summary>Short description of the kind and source, e.g. "byte-level BPE (vocab.json + merges.txt)".</summary>
    string Description { get; }

    /// <summary>Number of ids: the largest id plus one (vocabulary and added tokens).</summary>
    int VocabSize { get; }

    /// <summary>Beginning-of-sequence id, or -1 when the tokenizer has none.</summary>
    int BosId { get; }

    /// <summary>End-of-sequence id, or -1 when the tokenizer has none.</summary>
    int EosId { get; }

    /// <summary>Whether a sequence should start with <see cref="BosId"/> (SentencePiece/Llama style; tokenizer_config.json <c>add_bos_token</c>).</summary>
    bool AddBos { get; }

    /// <summary>Encodes plain text (no special-token parsing, no BOS/EOS).</summary>
    int[] Encode(string text);

    /// <summary>Encodes plain text into <paramref name="destination"/> and returns the number of ids written.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than the encoding.</exception>
    int Encode(string text, Span<int> destination);

    /// <summary>The exact UTF-8 bytes token <paramref name="id"/> stands for (empty for control tokens such as BOS/EOS).</summary>
    /// <remarks>May be an incomplete UTF-8 sequence (byte-level BPE and byte-fallback pieces split characters).</remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="id"/> is not in <c>[0, VocabSize)</c>.</exception>
    ReadOnlySpan<byte> TokenBytes(int id);

    /// <summary>The vocabulary entry as stored in the tokenizer file, e.g. "Ġworld", "▁the" or "&lt;0x0A&gt;" (empty for an unused id).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="id"/> is not in <c>[0, VocabSize)</c>.</exception>
    string TokenPiece(int id);

    /// <summary>Whether <paramref name="id"/> is a special or control token (BOS, EOS, pad, special added tokens); false outside the vocabulary.</summary>
    bool IsSpecial(int id);

    /// <summary>Decodes ids to text; invalid UTF-8 becomes U+FFFD.</summary>
    /// <param name="ids">Token ids, each in <c>[0, VocabSize)</c>.</param>
    /// <param name="skipSpecial">Leave out special tokens (default); false writes their text (e.g. "&lt;|endoftext|&gt;").</param>
    /// <remarks>SentencePiece tokenizers drop the dummy-prefix "▁" of the first non-control piece, as <c>spm_decode</c> does.</remarks>
    /// <exception cref="ArgumentOutOfRangeException">An id is not in <c>[0, VocabSize)</c>.</exception>
    string Decode(ReadOnlySpan<int> ids, bool skipSpecial = true);
}
