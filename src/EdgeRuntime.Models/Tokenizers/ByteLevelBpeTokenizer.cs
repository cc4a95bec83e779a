using System.Text.Json;
using EdgeRuntime.Core;
using EdgeRuntime.Models.Formats;
using Microsoft.ML.Tokenizers;

namespace EdgeRuntime.Models.Tokenizers;

/// <summary>GPT-2 style byte-level BPE: GPT-2 <c>vocab.json</c> + <c>merges.txt</c>, or a Hugging Face <c>tokenizer.json</c> of that kind.</summary>
/// <remarks>
/// Text is split by the pre-tokenizer regex (GPT-2's by default), each piece is turned into bytes and then into the
/// byte-level alphabet (<see cref="ByteLevelAlphabet"/>), and BPE merges are applied by Microsoft.ML.Tokenizers'
/// <see cref="BpeTokenizer"/>. Token bytes are the vocabulary strings mapped back through the alphabet, so streaming is exact.
/// Immutable after loading; safe to share between threads.
/// </remarks>
public sealed class ByteLevelBpeTokenizer : ITextTokenizer
{
    private readonly BpeTokenizer _bpe;
    private readonly TokenTable _table;
    private readonly bool _addPrefixSpace;

    private ByteLevelBpeTokenizer(BpeTokenizer bpe, TokenTable table, bool addPrefixSpace, string description)
    {
        _bpe = bpe;
        _table = table;
        _addPrefixSpace = addPrefixSpace;
        Description = description;
        BosId = -1;
        EosId = -1;
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

    /// <summary>Loads GPT-2's <c>vocab.json</c> and <c>merges.txt</c>.</summary>
    /// <remarks><c>&lt;|endoftext|&gt;</c>, when present, is BOS and EOS (as for every byte-level tokenizer here).</remarks>
    /// <exception cref="ModelFormatException">A file is missing or malformed.</exception>
    public static ByteLevelBpeTokenizer FromVocabAndMerges(string vocabPath, string mergesPath)
    {
        var vocab = ReadVocabJson(vocabPath);
        var merges = ReadMergesTxt(mergesPath);
        return Create(vocab, merges, [], splitPattern: null, addPrefixSpace: false,
            $"byte-level BPE ({Path.GetFileName(vocabPath)} + {Path.GetFileName(mergesPath)})", vocabPath);
    }

    /// <summary>Builds the tokenizer from parsed parts (used by the file loaders).</summary>
    /// <param name="vocab">Vocabulary string → id, in byte-level alphabet.</param>
    /// <param name="merges">Merge rules "a b", highest priority first.</param>
    /// <param name="addedTokens">Added tokens (content, id, special); they are never matched in text.</param>
    /// <param name="splitPattern">Pre-tokenizer regex; null = GPT-2's.</param>
    /// <param name="addPrefixSpace">Prepend a space when the text does not start with one (ByteLevel <c>add_prefix_space</c>).</param>
    /// <param name="description">For <see cref="Description"/>.</param>
    /// <param name="path">File named in errors.</param>
    internal static ByteLevelBpeTokenizer Create(
        IReadOnlyDictionary<string, int> vocab,
        IReadOnlyList<string> merges,
        IReadOnlyList<(string Content, int Id, bool Special)> addedTokens,
        string? splitPattern,
        bool addPrefixSpace,
        string description,
        string path)
    {
        int count = 0;
        foreach (var (piece, id) in vocab)
        {
            if (id < 0) throw new ModelFormatException($"tokenizer: id of '{piece}' in '{path}': expected >= 0, got {id}");
            count = Math.Max(count, id + 1);
        }
        foreach (var added in addedTokens)
        {
            if (added.Id < 0) throw new ModelFormatException($"tokenizer: id of added token '{added.Content}' in '{path}': expected >= 0, got {added.Id}");
            count = Math.Max(count, added.Id + 1);
        }

        var table = new TokenTable(count);
        foreach (var (piece, id) in vocab) table.Set(id, piece, ByteLevelAlphabet.ToBytes(piece), special: false);
        foreach (var (content, id, special) in addedTokens)
            table.Set(id, content, special ? [] : System.Text.Encoding.UTF8.GetBytes(content), special);

        PreTokenizer preTokenizer = splitPattern is null
            ? RobertaPreTokenizer.Instance
            : new RegexPreTokenizer(new System.Text.RegularExpressions.Regex(splitPattern, System.Text.RegularExpressions.RegexOptions.None), null);
        BpeTokenizer bpe;
        try
        {
            bpe = BpeTokenizer.Create(new BpeOptions(vocab)
            {
                Merges = merges,
                ByteLevel = true,
                PreTokenizer = preTokenizer,
            });
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or FormatException)
        {
            throw new ModelFormatException($"tokenizer: cannot build the BPE tokenizer from '{path}': {ex.Message}", ex);
        }
        // GPT-2 and GPT-NeoX use <|endoftext|> as both BOS and EOS; config files may say otherwise (TokenizerLoader).
        int endOfText = table.Find("<|endoftext|>");
        return new ByteLevelBpeTokenizer(bpe, table, addPrefixSpace, description) { BosId = endOfText, EosId = endOfText };
    }

    /// <summary>The id of a vocabulary or added-token string, or -1.</summary>
    public int FindToken(string piece) => _table.Find(piece);

    /// <inheritdoc />
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0) return [];
        if (_addPrefixSpace && !char.IsWhiteSpace(text[0])) text = " " + text;
        var ids = _bpe.EncodeToIds(text);
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
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecial = true) => _table.Decode(ids, skipSpecial);

    private static Dictionary<string, int> ReadVocabJson(string path)
    {
        byte[] json = ReadFile(path);
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new ModelFormatException($"tokenizer: '{path}': expected a JSON object of token → id, got {doc.RootElement.ValueKind}");
            return TokenizerJson.ReadVocab(doc.RootElement, path, "vocab");
        }
        catch (JsonException ex)
        {
            throw new ModelFormatException($"tokenizer: '{path}' is not valid JSON ({ex.Message})", ex);
        }
    }

    private static List<string> ReadMergesTxt(string path)
    {
        byte[] bytes = ReadFile(path);
        var merges = new List<string>(50_000);
        using var reader = new StringReader(System.Text.Encoding.UTF8.GetString(bytes));
        int lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (line.Length == 0 || (lineNumber == 1 && line.StartsWith("#version", StringComparison.Ordinal))) continue;
            int space = line.IndexOf(' ', StringComparison.Ordinal);
            if (space <= 0 || space == line.Length - 1 || line.IndexOf(' ', space + 1) >= 0)
                throw new ModelFormatException($"tokenizer: line {lineNumber} of '{path}': expected two tokens separated by one space, got '{line}'");
            merges.Add(line);
        }
        return merges;
    }

    private static byte[] ReadFile(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelFormatException($"tokenizer: cannot read '{path}' ({ex.Message})", ex);
        }
    }
}
