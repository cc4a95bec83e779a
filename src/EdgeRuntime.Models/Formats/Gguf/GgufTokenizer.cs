using System.Text;
using System.Text.Json;

namespace EdgeRuntime.Models.Formats.Gguf;

/// <summary>Turns a checkpoint directory's tokenizer files into <c>tokenizer.ggml.*</c> metadata (docs/gguf.md "Tokenizer").</summary>
/// <remarks>
/// Sources, first match wins: <c>vocab.json</c> + <c>merges.txt</c> (GPT-2 byte-level BPE: model <c>gpt2</c>, tokens in id
/// order, merges as the file's lines); <c>tokenizer.json</c> with a BPE model (same keys; added tokens placed at their ids);
/// <c>tokenizer.model</c> (SentencePiece protobuf: model <c>llama</c>, tokens, scores, token types 1..6 as SentencePiece
/// numbers them). Ids missing from a vocabulary are filled with <c>[PAD{id}]</c> (as llama.cpp's converter does). Special
/// ids <c>bos/eos/pad/unk_token_id</c> come from config.json. Stateless; safe from any thread.
/// </remarks>
public static class GgufTokenizer
{
    /// <summary>The tokenizer entries for <paramref name="directory"/> (empty when it has no tokenizer files), and a
    /// description of what was found, for reports.</summary>
    /// <exception cref="ModelFormatException">A tokenizer file is malformed; names the file.</exception>
    public static (IReadOnlyList<KeyValuePair<string, GgufValue>> Entries, string Description) FromDirectory(string directory, JsonElement config)
    {
        var items = new List<KeyValuePair<string, GgufValue>>();
        string description;
        string vocab = Path.Combine(directory, "vocab.json"), merges = Path.Combine(directory, "merges.txt");
        string tokenizerJson = Path.Combine(directory, "tokenizer.json"), spModel = Path.Combine(directory, "tokenizer.model");
        string? why = null;
        if (File.Exists(vocab) && File.Exists(merges))
        {
            var tokens = ReadVocabulary(vocab, JsonFile(vocab).RootElement, null);
            var mergeLines = File.ReadAllLines(merges, Encoding.UTF8).Where(l => l.Length > 0 && !l.StartsWith("#version", StringComparison.Ordinal)).ToArray();
            items.Add(new("tokenizer.ggml.model", GgufValue.String("gpt2")));
            items.Add(new("tokenizer.ggml.tokens", GgufValue.Array(tokens)));
            items.Add(new("tokenizer.ggml.merges", GgufValue.Array(mergeLines)));
            description = $"gpt2 BPE from vocab.json + merges.txt ({tokens.Length} tokens, {mergeLines.Length} merges)";
        }
        else if (File.Exists(tokenizerJson) && TryReadTokenizerJson(tokenizerJson, out var tokens, out var mergeLines, out why))
        {
            items.Add(new("tokenizer.ggml.model", GgufValue.String("gpt2")));
            items.Add(new("tokenizer.ggml.tokens", GgufValue.Array(tokens)));
            items.Add(new("tokenizer.ggml.merges", GgufValue.Array(mergeLines)));
            description = $"gpt2 BPE from tokenizer.json ({tokens.Length} tokens, {mergeLines.Length} merges)";
        }
        else if (File.Exists(spModel))
        {
            var (pieces, scores, types) = ReadSentencePiece(spModel);
            items.Add(new("tokenizer.ggml.model", GgufValue.String("llama")));
            items.Add(new("tokenizer.ggml.tokens", GgufValue.Array(pieces)));
            items.Add(new("tokenizer.ggml.scores", GgufValue.Array(scores)));
            items.Add(new("tokenizer.ggml.token_type", GgufValue.Array(types)));
            description = $"llama SentencePiece from tokenizer.model ({pieces.Length} pieces)";
        }
        else
        {
            description = File.Exists(tokenizerJson) ? $"none (tokenizer.json not converted: {why})" : "none";
        }
        AddSpecial(items, config, "bos_token_id", "tokenizer.ggml.bos_token_id");
        AddSpecial(items, config, "eos_token_id", "tokenizer.ggml.eos_token_id");
        AddSpecial(items, config, "pad_token_id", "tokenizer.ggml.padding_token_id");
        AddSpecial(items, config, "unk_token_id", "tokenizer.ggml.unknown_token_id");
        return (items, description);
    }

    private static void AddSpecial(List<KeyValuePair<string, GgufValue>> items, JsonElement config, string configKey, string ggufKey)
    {
        if (config.ValueKind == JsonValueKind.Object && config.TryGetProperty(configKey, out var v) &&
            v.ValueKind == JsonValueKind.Number && v.TryGetUInt32(out uint id))
            items.Add(new(ggufKey, GgufValue.UInt32(id)));
    }

    private static JsonDocument JsonFile(string path)
    {
        try
        {
            return JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException ex)
        {
            throw new ModelFormatException($"tokenizer: '{path}' is not valid JSON ({ex.Message})", ex);
        }
    }

    /// <summary>Tokens in id order from a <c>{token: id}</c> object plus optional added tokens; gaps become <c>[PAD{id}]</c>.</summary>
    private static string[] ReadVocabulary(string path, JsonElement vocab, IEnumerable<(string Token, int Id)>? added)
    {
        if (vocab.ValueKind != JsonValueKind.Object) throw new ModelFormatException($"tokenizer: vocabulary in '{path}' is not a JSON object");
        var byId = new Dictionary<int, string>();
        foreach (var p in vocab.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt32(out int id) || id < 0)
                throw new ModelFormatException($"tokenizer: token '{p.Name}' in '{path}' has id {p.Value.GetRawText()}, expected a non-negative integer");
            if (!byId.TryAdd(id, p.Name)) throw new ModelFormatException($"tokenizer: tokens '{byId[id]}' and '{p.Name}' in '{path}' share id {id}");
        }
        foreach (var (token, id) in added ?? [])
            byId[id] = token;
        int count = byId.Count == 0 ? 0 : byId.Keys.Max() + 1;
        if (count > 16 * byId.Count + 1024) throw new ModelFormatException($"tokenizer: ids in '{path}' reach {count - 1} but there are only {byId.Count} tokens");
        var tokens = new string[count];
        for (int i = 0; i < count; i++) tokens[i] = byId.TryGetValue(i, out var t) ? t : $"[PAD{i}]";
        return tokens;
    }

    private static bool TryReadTokenizerJson(string path, out string[] tokens, out string[] merges, out string? why)
    {
        tokens = merges = [];
        using var doc = JsonFile(path);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
        {
            why = "no 'model' object";
            return false;
        }
        string? type = model.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        if (type != "BPE" || !model.TryGetProperty("vocab", out var vocab) || !model.TryGetProperty("merges", out var mergeList) || mergeList.ValueKind != JsonValueKind.Array)
        {
            why = $"model type '{type ?? "(none)"}' is not a BPE with vocab and merges";
            return false;
        }
        var added = new List<(string, int)>();
        if (root.TryGetProperty("added_tokens", out var addedTokens) && addedTokens.ValueKind == JsonValueKind.Array)
            foreach (var a in addedTokens.EnumerateArray())
                if (a.TryGetProperty("id", out var id) && id.TryGetInt32(out int i) && i >= 0 && a.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String)
                    added.Add((c.GetString()!, i));
        tokens = ReadVocabulary(path, vocab, added);
        merges = mergeList.EnumerateArray().Select(m => m.ValueKind switch
        {
            JsonValueKind.String => m.GetString()!,
            JsonValueKind.Array when m.GetArrayLength() == 2 => m[0].GetString() + " " + m[1].GetString(),
            _ => throw new ModelFormatException($"tokenizer: merge {m.GetRawText()} in '{path}' is neither \"a b\" nor [\"a\", \"b\"]"),
        }).ToArray();
        why = null;
        return true;
    }

    /// <summary>Reads the pieces of a SentencePiece <c>ModelProto</c>: field 1 (repeated <c>SentencePiece</c> {1: piece,
    /// 2: score, 3: type}); other fields are skipped. Type defaults to NORMAL (1) as in sentencepiece_model.proto.</summary>
    internal static (string[] Pieces, float[] Scores, int[] Types) ReadSentencePiece(string path)
    {
        byte[] data = File.ReadAllBytes(path);
        var pieces = new List<string>();
        var scores = new List<float>();
        var types = new List<int>();
        var top = new ProtoReader(data, 0, data.Length, path);
        while (top.Next(out int field, out int wire))
        {
            if (field == 1 && wire == 2)
            {
                var (start, end) = top.LengthDelimited();
                var piece = new ProtoReader(data, start, end, path);
                string? text = null;
                float score = 0f;
                int type = 1;
                while (piece.Next(out int f, out int w))
                {
                    if (f == 1 && w == 2)
                    {
                        var (s, e) = piece.LengthDelimited();
                        text = Encoding.UTF8.GetString(data, s, e - s);
                    }
                    else if (f == 2 && w == 5) score = BitConverter.Int32BitsToSingle((int)piece.Fixed32());
                    else if (f == 3 && w == 0) type = (int)piece.Varint();
                    else piece.Skip(w);
                }
                pieces.Add(text ?? throw new ModelFormatException($"tokenizer: piece {pieces.Count} in '{path}' has no text"));
                scores.Add(score);
                types.Add(type);
            }
            else top.Skip(wire);
        }
        if (pieces.Count == 0) throw new ModelFormatException($"tokenizer: '{path}' holds no SentencePiece pieces");
        return (pieces.ToArray(), scores.ToArray(), types.ToArray());
    }

    /// <summary>Minimal bounds-checked protobuf wire-format reader over <c>data[start..end)</c>.</summary>
    private struct ProtoReader(byte[] data, int start, int end, string path)
    {
        private int _pos = start;

        public bool Next(out int field, out int wire)
        {
            field = wire = 0;
            if (_pos >= end) return false;
            ulong tag = Varint();
            field = (int)(tag >> 3);
            wire = (int)(tag & 7);
            if (field == 0) throw Error("field number 0");
            return true;
        }

        public ulong Varint()
        {
            ulong v = 0;
            for (int shift = 0; shift < 64; shift += 7)
            {
                if (_pos >= end) throw Error("truncated varint");
                byte b = data[_pos++];
                v |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80) return v;
            }
            throw Error("varint longer than 10 bytes");
        }

        public uint Fixed32()
        {
            if (end - _pos < 4) throw Error("truncated fixed32");
            uint v = BitConverter.ToUInt32(data, _pos);
            _pos += 4;
            return v;
        }

        public (int Start, int End) LengthDelimited()
        {
            ulong n = Varint();
            if (n > (ulong)(end - _pos)) throw Error($"length {n} runs past the end");
            int s = _pos;
            _pos += (int)n;
            return (s, _pos);
        }

        public void Skip(int wire)
        {
            switch (wire)
            {
                case 0: Varint(); break;
                case 1: if (end - _pos < 8) throw Error("truncated fixed64"); _pos += 8; break;
                case 2: LengthDelimited(); break;
                case 5: Fixed32(); break;
                default: throw Error($"unsupported wire type {wire}");
            }
        }

        private readonly ModelFormatException Error(string what) => new($"tokenizer: '{path}' is not a valid SentencePiece model ({what} at byte {_pos})");
    }
}
