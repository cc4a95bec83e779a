using EdgeRuntime.Models.Formats;
using Google.Protobuf;

namespace EdgeRuntime.Models.Tokenizers;

/// <summary>The piece list of a SentencePiece <c>tokenizer.model</c> (a <c>ModelProto</c> protobuf): strings and types by id.</summary>
/// <remarks>
/// Only what decoding needs is read: <c>ModelProto.pieces</c> (field 1) with <c>piece</c> (1), <c>score</c> (2) and
/// <c>type</c> (3), and <c>normalizer_spec</c> (field 3) <c>add_dummy_prefix</c> (3) and <c>remove_extra_whitespaces</c> (4).
/// Everything else is skipped.
/// Reference: google/sentencepiece@v0.1.97 src/sentencepiece_model.proto. Immutable; safe to share between threads.
/// </remarks>
internal sealed class SentencePieceModelFile
{
    /// <summary>SentencePiece piece types (<c>ModelProto.SentencePiece.Type</c>).</summary>
    public enum PieceType
    {
        /// <summary>Ordinary text piece.</summary>
        Normal = 1,
        /// <summary>The unknown piece (decodes to " ⁇ ").</summary>
        Unknown = 2,
        /// <summary>Control symbol such as &lt;s&gt; and &lt;/s&gt; (decodes to nothing).</summary>
        Control = 3,
        /// <summary>User-defined symbol, always one piece (decodes to its text).</summary>
        UserDefined = 4,
        /// <summary>Unused piece.</summary>
        Unused = 5,
        /// <summary>Byte-fallback piece &lt;0xNN&gt;.</summary>
        Byte = 6,
    }

    private SentencePieceModelFile(string[] pieces, PieceType[] types, bool stripsDummyPrefix)
    {
        Pieces = pieces;
        Types = types;
        StripsDummyPrefix = stripsDummyPrefix;
    }

    /// <summary>Piece strings by id.</summary>
    public string[] Pieces { get; }

    /// <summary>Piece types by id.</summary>
    public PieceType[] Types { get; }

    /// <summary>Whether decoding drops the first piece's leading "▁": <c>add_dummy_prefix || remove_extra_whitespaces</c>, as spm_decode.</summary>
    public bool StripsDummyPrefix { get; }

    /// <summary>Parses the model bytes.</summary>
    /// <exception cref="ModelFormatException">Not a SentencePiece model.</exception>
    public static SentencePieceModelFile Parse(byte[] bytes, string path)
    {
        var pieces = new List<string>();
        var types = new List<PieceType>();
        bool addDummyPrefix = true, removeExtraWhitespaces = true; // proto defaults
        try
        {
            var input = new CodedInputStream(bytes);
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                switch (WireFormat.GetTagFieldNumber(tag), WireFormat.GetTagWireType(tag))
                {
                    case (1, WireFormat.WireType.LengthDelimited):
                        {
                            var (piece, type) = ReadPiece(input.ReadBytes(), path, pieces.Count);
                            pieces.Add(piece);
                            types.Add(type);
                            break;
                        }
                    case (3, WireFormat.WireType.LengthDelimited):
                        (addDummyPrefix, removeExtraWhitespaces) = ReadNormalizerFlags(input.ReadBytes());
                        break;
                    default:
                        input.SkipLastField();
                        break;
                }
            }
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new ModelFormatException($"tokenizer: '{path}' is not a SentencePiece model ({ex.Message})", ex);
        }
        if (pieces.Count == 0) throw new ModelFormatException($"tokenizer: pieces in '{path}': expected at least one, got 0; is it a SentencePiece model?");
        return new SentencePieceModelFile([.. pieces], [.. types], addDummyPrefix || removeExtraWhitespaces);
    }

    private static (string Piece, PieceType Type) ReadPiece(ByteString message, string path, int id)
    {
        var input = message.CreateCodedInput();
        string? piece = null;
        var type = PieceType.Normal;
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag), WireFormat.GetTagWireType(tag))
            {
                case (1, WireFormat.WireType.LengthDelimited):
                    piece = input.ReadString();
                    break;
                case (3, WireFormat.WireType.Varint):
                    int value = input.ReadEnum();
                    if (value is < 1 or > 6) throw new ModelFormatException($"tokenizer: type of piece {id} in '{path}': expected 1..6, got {value}");
                    type = (PieceType)value;
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }
        return (piece ?? throw new ModelFormatException($"tokenizer: piece {id} in '{path}' has no text"), type);
    }

    private static (bool AddDummyPrefix, bool RemoveExtraWhitespaces) ReadNormalizerFlags(ByteString message)
    {
        var input = message.CreateCodedInput();
        bool addDummyPrefix = true, removeExtraWhitespaces = true;
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag), WireFormat.GetTagWireType(tag))
            {
                case (3, WireFormat.WireType.Varint):
                    addDummyPrefix = input.ReadBool();
                    break;
                case (4, WireFormat.WireType.Varint):
                    removeExtraWhitespaces = input.ReadBool();
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }
        return (addDummyPrefix, removeExtraWhitespaces);
    }
}
