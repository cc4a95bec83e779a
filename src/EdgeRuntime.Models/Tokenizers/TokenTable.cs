using System.Text;
using EdgeRuntime.Core;

namespace EdgeRuntime.Models.Tokenizers;

/// <summary>Per-id bytes, vocabulary strings and special flags shared by the tokenizer kinds; decoding lives here.</summary>
/// <remarks>Immutable after construction; safe to share between threads.</remarks>
internal sealed class TokenTable
{
    private readonly byte[][] _bytes;
    private readonly string[] _pieces;
    private readonly bool[] _special;
    private readonly Dictionary<string, int> _ids;

    /// <summary>Creates a table of <paramref name="count"/> ids, all empty until <see cref="Set"/>.</summary>
    public TokenTable(int count)
    {
        _bytes = new byte[count][];
        _pieces = new string[count];
        _special = new bool[count];
        Array.Fill(_bytes, []);
        Array.Fill(_pieces, string.Empty);
        _ids = new Dictionary<string, int>(count, StringComparer.Ordinal);
    }

    /// <summary>Number of ids.</summary>
    public int Count => _bytes.Length;

    /// <summary>Sets one id's entry.</summary>
    public void Set(int id, string piece, byte[] bytes, bool special)
    {
        _pieces[id] = piece;
        _bytes[id] = bytes;
        _special[id] = special;
        _ids[piece] = id;
    }

    /// <summary>Marks an id special (BOS/EOS named by a config); its text is then left out of streams. Ignores ids outside the table.</summary>
    public void MarkSpecial(int id)
    {
        if ((uint)id >= (uint)_special.Length || _special[id]) return;
        _special[id] = true;
        _bytes[id] = [];
    }

    /// <summary>The id whose vocabulary string is <paramref name="piece"/>, or -1.</summary>
    public int Find(string piece) => _ids.TryGetValue(piece, out int id) ? id : -1;

    /// <summary>See <see cref="ITextTokenizer.TokenBytes"/>.</summary>
    public ReadOnlySpan<byte> Bytes(int id)
    {
        if ((uint)id >= (uint)_bytes.Length) ThrowHelper.OutOfRange(nameof(id), id, $"a token id in [0, {_bytes.Length})");
        return _bytes[id];
    }

    /// <summary>See <see cref="ITextTokenizer.TokenPiece"/>.</summary>
    public string Piece(int id)
    {
        if ((uint)id >= (uint)_pieces.Length) ThrowHelper.OutOfRange(nameof(id), id, $"a token id in [0, {_pieces.Length})");
        return _pieces[id];
    }

    /// <summary>See <see cref="ITextTokenizer.IsSpecial"/>.</summary>
    public bool IsSpecial(int id) => (uint)id < (uint)_special.Length && _special[id];

    /// <summary>Concatenates token bytes and decodes them as UTF-8 (U+FFFD for invalid sequences).</summary>
    /// <param name="ids">Token ids.</param>
    /// <param name="skipSpecial">Leave out special tokens; otherwise write their vocabulary string.</param>
    /// <param name="stripSpaceAt">Index in <paramref name="ids"/> whose token loses one leading space (SentencePiece dummy prefix); -1 = none.</param>
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecial, int stripSpaceAt = -1)
    {
        var buffer = new List<byte>(ids.Length * 4);
        for (int i = 0; i < ids.Length; i++)
        {
            int id = ids[i];
            ReadOnlySpan<byte> bytes = Bytes(id);
            if (_special[id])
            {
                if (skipSpecial) continue;
                bytes = Encoding.UTF8.GetBytes(_pieces[id]);
            }
            if (i == stripSpaceAt && !bytes.IsEmpty && bytes[0] == (byte)' ') bytes = bytes[1..];
            foreach (byte b in bytes) buffer.Add(b);
        }
        return Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(buffer));
    }
}
