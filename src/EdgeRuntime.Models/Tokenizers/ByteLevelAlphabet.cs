namespace EdgeRuntime.Models.Tokenizers;

/// <summary>GPT-2's reversible byte ↔ printable-character table used by byte-level BPE vocabularies.</summary>
/// <remarks>
/// Bytes 0x21–0x7E, 0xA1–0xAC and 0xAE–0xFF map to the character with the same code; the remaining 68 bytes map, in
/// increasing order, to U+0100, U+0101, … (so a space, 0x20, is 'Ġ' U+0120).
/// Reference: openai/gpt-2@a74da5d src/encoder.py <c>bytes_to_unicode</c>. Stateless; safe from any thread.
/// </remarks>
internal static class ByteLevelAlphabet
{
    private static readonly char[] s_byteToChar = BuildByteToChar();
    private static readonly short[] s_charToByte = BuildCharToByte(s_byteToChar);

    /// <summary>The character that stands for <paramref name="value"/>.</summary>
    public static char ToChar(byte value) => s_byteToChar[value];

    /// <summary>The byte <paramref name="c"/> stands for; false when <paramref name="c"/> is not in the table.</summary>
    public static bool TryToByte(char c, out byte value)
    {
        if (c < s_charToByte.Length && s_charToByte[c] >= 0)
        {
            value = (byte)s_charToByte[c];
            return true;
        }
        value = 0;
        return false;
    }

    /// <summary>Maps a vocabulary string back to bytes; characters outside the table are kept as their own UTF-8.</summary>
    public static byte[] ToBytes(string piece)
    {
        var bytes = new List<byte>(piece.Length);
        Span<byte> utf8 = stackalloc byte[4];
        for (int i = 0; i < piece.Length; i++)
        {
            if (TryToByte(piece[i], out byte b))
            {
                bytes.Add(b);
                continue;
            }
            // Not a byte-level character (e.g. an added token's literal text): keep it as UTF-8.
            int length = char.IsSurrogatePair(piece, i)
                ? new System.Text.Rune(piece[i], piece[++i]).EncodeToUtf8(utf8)
                : (System.Text.Rune.TryCreate(piece[i], out var rune) ? rune : System.Text.Rune.ReplacementChar).EncodeToUtf8(utf8);
            for (int k = 0; k < length; k++) bytes.Add(utf8[k]);
        }
        return bytes.ToArray();
    }

    private static char[] BuildByteToChar()
    {
        var table = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            table[b] = printable ? (char)b : (char)next++;
        }
        return table;
    }

    private static short[] BuildCharToByte(char[] byteToChar)
    {
        var table = new short[256 + 68];
        Array.Fill(table, (short)-1);
        for (int b = 0; b < 256; b++) table[byteToChar[b]] = (short)b;
        return table;
    }
}
