using System.Globalization;
using EdgeRuntime.Core;
using EdgeRuntime.Models.Formats;
using Microsoft.ML.Tokenizers;

namespace EdgeRuntime.Models.Tokenizers;

/// <summary>A SentencePiece <c>tokenizer.model</c> (BPE or Unigram; Llama and TransNormerLLM style), encoded by Microsoft.ML.Tokenizers.</summary>
/// <remarks>
/// Encoding is <see cref="SentencePieceTokenizer"/> (normalization, dummy prefix, byte fallback). Token bytes come from the
/// piece table: "▁" is a space, byte pieces &lt;0xNN&gt; are that byte, control pieces are empty and the unknown piece is
/// " ⁇ ", as <c>spm_decode</c> writes them. Immutable after loading; safe to share between threads.
/// </remarks>
public sealed class SentencePieceTextTokenizer : ITextTokenizer
{
    private readonly SentencePieceTokenizer _spm;
    private readonly TokenTable _table;
    private readonly SentencePieceModelFile.PieceType[] _types;
    private readonly bool _stripDummyPrefix;

    private SentencePieceTextTokenizer(SentencePieceTokenizer spm, TokenTable table, SentencePieceModelFile model, string description)
    {
        _spm = spm;
        _table = table;
        _types = model.Types;
        _stripDummyPrefix = model.StripsDummyPrefix;
        Description = description;
        BosId = spm.BeginningOfSentenceId;
        EosId = spm.EndOfSentenceId;
        AddBos = BosId >= 0;
    }

    /// <inheritdoc />
    public string Description { get; }

    /// <inheritdoc />
    public int VocabSize => _table.Count;

    /// <inheritdoc />
    /// <remarks>Setting it (loader) also marks the id special, so streams leave it out.</remarks>
    public int BosId
    {
        get;
        internal set
        {
            field = value;
            _table.MarkSpecial(value);
        }
    }

    /// <inheritdoc />
    /// <remarks>Setting it (loader) also marks the id special, so streams leave it out.</remarks>
    public int EosId
    {
        get;
        internal set
        {
            field = value;
            _table.MarkSpecial(value);
        }
    }

    /// <inheritdoc />
    public bool AddBos { get; internal set; }

    /// <summary>Loads a SentencePiece model file.</summary>
    /// <exception cref="ModelFormatException">The file is missing or not a SentencePiece model.</exception>
    public static SentencePieceTextTokenizer FromFile(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelFormatException($"tokenizer: cannot read '{path}' ({ex.Message})", ex);
        }
        return FromModelBytes(bytes, path, $"SentencePiece ({Path.GetFileName(path)})");
    }

    /// <summary>Builds the tokenizer from the bytes of a SentencePiece <c>ModelProto</c> (a file's, or one rebuilt from GGUF
    /// <c>tokenizer.ggml.*</c> metadata).</summary>
    /// <param name="bytes">The protobuf.</param>
    /// <param name="path">Source named in errors.</param>
    /// <param name="description">For <see cref="Description"/>.</param>
    /// <exception cref="ModelFormatException">Not a SentencePiece model.</exception>
    internal static SentencePieceTextTokenizer FromModelBytes(byte[] bytes, string path, string description)
    {
        var model = SentencePieceModelFile.Parse(bytes, path);

        SentencePieceTokenizer spm;
        try
        {
            using var stream = new MemoryStream(bytes, writable: false);
            spm = SentencePieceTokenizer.Create(stream, false, false);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or NotSupportedException or FormatException or Google.Protobuf.InvalidProtocolBufferException)
        {
            throw new ModelFormatException($"tokenizer: cannot load SentencePiece model '{path}': {ex.Message}", ex);
        }

        var table = new TokenTable(model.Pieces.Length);
        for (int id = 0; id < model.Pieces.Length; id++)
        {
            string piece = model.Pieces[id];
            var type = model.Types[id];
            byte[] bytes1 = type switch
            {
                SentencePieceModelFile.PieceType.Control or SentencePieceModelFile.PieceType.Unused => [],
                SentencePieceModelFile.PieceType.Unknown => " \u2047 "u8.ToArray(),
                SentencePieceModelFile.PieceType.Byte => [ParseBytePiece(piece, id, path)],
                _ => System.Text.Encoding.UTF8.GetBytes(piece.Replace('\u2581', ' ')),
            };
            table.Set(id, piece, bytes1, special: type == SentencePieceModelFile.PieceType.Control);
        }
        return new SentencePieceTextTokenizer(spm, table, model, description);
    }

    /// <summary>The id of a piece string, or -1.</summary>
    public int FindToken(string piece) => _table.Find(piece);

    /// <inheritdoc />
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0) return [];
        var ids = _spm.EncodeToIds(text, addBeginningOfSentence: false, addEndOfSentence: false);
        var result = new int[ids.Count];
        for (int i = 0; i < result.Length; i++) result[i] = ids[i];
        return result;
    }

    /// <inheritdoc />
    public int Encode(string text, Span<int> destination)
    {
        int[] ids = Encode(text);
        if (ids.Length > destination.Length) ThrowHelper.TooShort(nameof(destination), destination.Length, ids.Length);
        ids.CopyTo(destination);
        return ids.Length;
    }

    /// <inheritdoc />
    public ReadOnlySpan<byte> TokenBytes(int id) => _table.Bytes(id);

    /// <inheritdoc />
    public string TokenPiece(int id) => _table.Piece(id);

    /// <inheritdoc />
    public bool IsSpecial(int id) => _table.IsSpecial(id);

    /// <inheritdoc />
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecial = true)
    {
        // spm_decode: the first piece that is not a control symbol loses its leading "▁" (the dummy prefix), if it is
        // an ordinary or user-defined piece; byte and unknown pieces keep their text.
        int strip = -1;
        if (_stripDummyPrefix)
        {
            for (int i = 0; i < ids.Length; i++)
            {
                var type = (uint)ids[i] < (uint)_types.Length ? _types[ids[i]] : SentencePieceModelFile.PieceType.Normal;
                if (type is SentencePieceModelFile.PieceType.Control or SentencePieceModelFile.PieceType.Unused) continue;
                if (type is SentencePieceModelFile.PieceType.Normal or SentencePieceModelFile.PieceType.UserDefined
                    && _table.Piece(ids[i]).StartsWith('\u2581')) strip = i;
                break;
            }
        }
        return _table.Decode(ids, skipSpecial, strip);
    }

    private static byte ParseBytePiece(string piece, int id, string path)
    {
        if (piece.Length == 6 && piece.StartsWith("<0x", StringComparison.Ordinal) && piece[5] == '>'
            && byte.TryParse(piece.AsSpan(3, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out byte value))
            return value;
        throw new ModelFormatException($"tokenizer: byte piece {id} in '{path}': expected '<0xNN>', got '{piece}'");
    }
}
