using System.Text.Json;
using EdgeRuntime.Models.Formats;

namespace EdgeRuntime.Models.Tokenizers;

/// <summary>Reads a Hugging Face <c>tokenizer.json</c> whose model is byte-level BPE (GPT-2, GPT-NeoX, Llama 3, Qwen style).</summary>
/// <remarks>
/// Read with <see cref="JsonDocument"/> (no reflection, AOT-safe). Supported: <c>model.type</c> "BPE" with <c>vocab</c>
/// and <c>merges</c> (either "a b" strings or ["a", "b"] pairs), <c>added_tokens</c>, a ByteLevel pre-tokenizer alone or
/// after one Split regex (behavior "Isolated"), and no normalizer or NFC. SentencePiece-style BPE (Metaspace,
/// <c>byte_fallback</c>) is rejected with a hint to use <c>tokenizer.model</c>. <c>ignore_merges</c> is not applied: a word
/// that is itself in the vocabulary is still built by merges, which gives the same ids for merge-complete vocabularies.
/// Stateless; safe from any thread.
/// </remarks>
internal static class TokenizerJson
{
    /// <summary>Loads <paramref name="path"/>.</summary>
    /// <exception cref="ModelFormatException">Malformed or unsupported file; the message names the file and key.</exception>
    public static ByteLevelBpeTokenizer Load(string path)
    {
        byte[] json;
        try
        {
            json = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelFormatException($"tokenizer: cannot read '{path}' ({ex.Message})", ex);
        }
        try
        {
            using var doc = JsonDocument.Parse(json);
            return Load(doc.RootElement, path);
        }
        catch (JsonException ex)
        {
            throw new ModelFormatException($"tokenizer: '{path}' is not valid JSON ({ex.Message})", ex);
        }
    }

    private static ByteLevelBpeTokenizer Load(JsonElement root, string path)
    {
        if (root.ValueKind != JsonValueKind.Object) throw Error(path, "the document", "an object", root.ValueKind.ToString());
        if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
            throw new ModelFormatException($"tokenizer: key 'model' in '{path}': expected an object, got {(root.TryGetProperty("model", out var m) ? m.ValueKind.ToString() : "(missing)")}");

        string type = OptionalString(model, "type", path) ?? "BPE";
        if (type != "BPE")
            throw new ModelFormatException($"tokenizer: 'model.type' in '{path}': expected 'BPE', got '{type}'; WordPiece/Unigram tokenizer.json files are not supported");
        if (OptionalBool(model, "byte_fallback", path) == true)
            throw new ModelFormatException($"tokenizer: 'model.byte_fallback' in '{path}' is true (SentencePiece-style BPE), which is not supported; use the checkpoint's tokenizer.model");
        if (OptionalString(model, "continuing_subword_prefix", path) is { Length: > 0 } || OptionalString(model, "end_of_word_suffix", path) is { Length: > 0 })
            throw new ModelFormatException($"tokenizer: '{path}' uses continuing_subword_prefix/end_of_word_suffix, which byte-level BPE does not support");

        if (!model.TryGetProperty("vocab", out var vocabElement) || vocabElement.ValueKind != JsonValueKind.Object)
            throw Error(path, "model.vocab", "an object of token → id", Kind(model, "vocab"));
        var vocab = ReadVocab(vocabElement, path, "model.vocab");
        var merges = ReadMerges(model, path);
        var added = ReadAddedTokens(root, path);
        CheckNormalizer(root, path);
        var (pattern, prefixSpace) = ReadPreTokenizer(root, path);

        return ByteLevelBpeTokenizer.Create(vocab, merges, added, pattern, prefixSpace,
            $"byte-level BPE ({Path.GetFileName(path)})", path);
    }

    /// <summary>Reads an object of token string → integer id.</summary>
    internal static Dictionary<string, int> ReadVocab(JsonElement vocab, string path, string key)
    {
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var property in vocab.EnumerateObject())
        {
            if (property.Value.ValueKind != JsonValueKind.Number || !property.Value.TryGetInt32(out int id))
                throw new ModelFormatException($"tokenizer: id of '{property.Name}' in '{key}' of '{path}': expected an integer, got {property.Value.GetRawText()}");
            result[property.Name] = id;
        }
        return result;
    }

    private static List<string> ReadMerges(JsonElement model, string path)
    {
        if (!model.TryGetProperty("merges", out var merges) || merges.ValueKind != JsonValueKind.Array)
            throw Error(path, "model.merges", "an array", Kind(model, "merges"));
        var result = new List<string>(merges.GetArrayLength());
        int index = 0;
        foreach (var merge in merges.EnumerateArray())
        {
            string? left = null, right = null;
            if (merge.ValueKind == JsonValueKind.String)
            {
                string text = merge.GetString()!;
                int space = text.IndexOf(' ', StringComparison.Ordinal);
                if (space > 0 && space < text.Length - 1 && text.IndexOf(' ', space + 1) < 0)
                {
                    left = text[..space];
                    right = text[(space + 1)..];
                }
            }
            else if (merge.ValueKind == JsonValueKind.Array && merge.GetArrayLength() == 2
                && merge[0].ValueKind == JsonValueKind.String && merge[1].ValueKind == JsonValueKind.String)
            {
                left = merge[0].GetString();
                right = merge[1].GetString();
            }
            // Byte-level pieces never contain a raw space, so "a b" is unambiguous for the library's merge parser.
            if (string.IsNullOrEmpty(left) || string.IsNullOrEmpty(right) || left.Contains(' ', StringComparison.Ordinal) || right.Contains(' ', StringComparison.Ordinal))
                throw Error(path, $"model.merges[{index}]", "\"a b\" or [\"a\", \"b\"] with two non-empty tokens without spaces", merge.GetRawText());
            result.Add(left + " " + right);
            index++;
        }
        return result;
    }

    private static List<(string Content, int Id, bool Special)> ReadAddedTokens(JsonElement root, string path)
    {
        var result = new List<(string, int, bool)>();
        if (!root.TryGetProperty("added_tokens", out var added) || added.ValueKind == JsonValueKind.Null) return result;
        if (added.ValueKind != JsonValueKind.Array) throw Error(path, "added_tokens", "an array", added.ValueKind.ToString());
        int index = 0;
        foreach (var token in added.EnumerateArray())
        {
            string key = $"added_tokens[{index++}]";
            if (token.ValueKind != JsonValueKind.Object) throw Error(path, key, "an object", token.ValueKind.ToString());
            if (!token.TryGetProperty("id", out var idElement) || !idElement.TryGetInt32(out int id))
                throw Error(path, key + ".id", "an integer", Kind(token, "id"));
            string content = OptionalString(token, "content", path)
                ?? throw Error(path, key + ".content", "a string", Kind(token, "content"));
            bool special = OptionalBool(token, "special", path) ?? false;
            result.Add((content, id, special));
        }
        return result;
    }

    private static void CheckNormalizer(JsonElement root, string path)
    {
        if (!root.TryGetProperty("normalizer", out var normalizer) || normalizer.ValueKind == JsonValueKind.Null) return;
        string? type = normalizer.ValueKind == JsonValueKind.Object ? OptionalString(normalizer, "type", path) : null;
        // NFC is the identity on text that is already NFC, which is what prompts nearly always are; under
        // InvariantGlobalization .NET cannot normalize, so NFC is accepted and not applied.
        if (type == "NFC") return;
        throw Error(path, "normalizer", "null or NFC (byte-level BPE)", type ?? normalizer.GetRawText());
    }

    private static (string? Pattern, bool AddPrefixSpace) ReadPreTokenizer(JsonElement root, string path)
    {
        if (!root.TryGetProperty("pre_tokenizer", out var pre) || pre.ValueKind != JsonValueKind.Object)
            throw Error(path, "pre_tokenizer", "a ByteLevel pre-tokenizer (byte-level BPE)", root.TryGetProperty("pre_tokenizer", out var p) ? p.GetRawText() : "(missing)");
        string? type = OptionalString(pre, "type", path);
        if (type == "ByteLevel")
        {
            if (OptionalBool(pre, "use_regex", path) == false)
                throw Error(path, "pre_tokenizer.use_regex", "true when ByteLevel is the only pre-tokenizer", "false");
            return (null, OptionalBool(pre, "add_prefix_space", path) ?? false);
        }
        if (type == "Metaspace")
            throw new ModelFormatException($"tokenizer: 'pre_tokenizer' in '{path}' is Metaspace (SentencePiece-style BPE), which is not supported; use the checkpoint's tokenizer.model");
        if (type != "Sequence" || !pre.TryGetProperty("pretokenizers", out var list) || list.ValueKind != JsonValueKind.Array)
            throw Error(path, "pre_tokenizer.type", "ByteLevel, or Sequence [Split, ByteLevel]", type ?? "(missing)");

        string? pattern = null;
        bool byteLevel = false, prefixSpace = false;
        foreach (var item in list.EnumerateArray())
        {
            string? itemType = item.ValueKind == JsonValueKind.Object ? OptionalString(item, "type", path) : null;
            if (itemType == "Split" && pattern is null && !byteLevel)
            {
                if (!item.TryGetProperty("pattern", out var pat) || pat.ValueKind != JsonValueKind.Object)
                    throw Error(path, "pre_tokenizer Split.pattern", "{\"Regex\": ...} or {\"String\": ...}", Kind(item, "pattern"));
                pattern = OptionalString(pat, "Regex", path)
                    ?? (OptionalString(pat, "String", path) is { } literal ? System.Text.RegularExpressions.Regex.Escape(literal) : null)
                    ?? throw Error(path, "pre_tokenizer Split.pattern", "{\"Regex\": ...} or {\"String\": ...}", pat.GetRawText());
                string behavior = OptionalString(item, "behavior", path) ?? "Isolated";
                if (behavior != "Isolated" || OptionalBool(item, "invert", path) == true)
                    throw Error(path, "pre_tokenizer Split.behavior", "Isolated, not inverted", behavior);
            }
            else if (itemType == "ByteLevel" && !byteLevel)
            {
                byteLevel = true;
                prefixSpace = OptionalBool(item, "add_prefix_space", path) ?? false;
                // use_regex=true after a Split would split twice; GPT-2's regex then refines the pieces, as the library would.
                if (OptionalBool(item, "use_regex", path) == true && pattern is not null)
                    throw Error(path, "pre_tokenizer ByteLevel.use_regex", "false after a Split", "true");
            }
            else
            {
                throw Error(path, "pre_tokenizer.pretokenizers", "[Split (Isolated), ByteLevel]", item.GetRawText());
            }
        }
        if (!byteLevel) throw Error(path, "pre_tokenizer.pretokenizers", "a ByteLevel pre-tokenizer (byte-level BPE)", list.GetRawText());
        return (pattern, prefixSpace);
    }

    private static string? OptionalString(JsonElement obj, string key, string path)
    {
        if (!obj.TryGetProperty(key, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.String) throw Error(path, key, "a string", value.GetRawText());
        return value.GetString();
    }

    private static bool? OptionalBool(JsonElement obj, string key, string path)
    {
        if (!obj.TryGetProperty(key, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False)) throw Error(path, key, "true or false", value.GetRawText());
        return value.GetBoolean();
    }

    private static string Kind(JsonElement obj, string key) =>
        obj.TryGetProperty(key, out var value) ? value.ValueKind.ToString() : "(missing)";

    private static ModelFormatException Error(string path, string key, string expected, string got) =>
        new($"tokenizer: '{key}' in '{path}': expected {expected}, got {(got.Length > 120 ? got[..120] + "…" : got)}");
}
