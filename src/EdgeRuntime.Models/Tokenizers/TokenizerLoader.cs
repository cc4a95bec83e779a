using System.Text.Json;
using EdgeRuntime.Models.Formats;
using EdgeRuntime.Models.Formats.Gguf;

namespace EdgeRuntime.Models.Tokenizers;

/// <summary>Finds and loads the tokenizer beside a checkpoint.</summary>
/// <remarks>
/// Looks for, in order: <c>tokenizer.json</c> (byte-level BPE; if it is of another kind and <c>tokenizer.model</c> exists,
/// that is used instead), <c>tokenizer.model</c> (SentencePiece), <c>vocab.json</c> + <c>merges.txt</c> (GPT-2 BPE).
/// BOS/EOS: <c>config.json</c> <c>bos_token_id</c>/<c>eos_token_id</c> win; otherwise <c>tokenizer_config.json</c>
/// <c>bos_token</c>/<c>eos_token</c>; otherwise the tokenizer file's own (SentencePiece control pieces, GPT-2 <c>&lt;|endoftext|&gt;</c>).
/// <c>tokenizer_config.json</c> <c>add_bos_token</c> sets <see cref="ITextTokenizer.AddBos"/>. A <c>.gguf</c> file carries its
/// tokenizer in <c>tokenizer.ggml.*</c> metadata (<see cref="FromGguf"/>); <see cref="Load"/> picks the right one.
/// Stateless; safe from any thread.
/// </remarks>
public static class TokenizerLoader
{
    /// <summary>Loads the tokenizer for a model path: a <c>.gguf</c> file's metadata, else the files beside a checkpoint
    /// (same as <see cref="FromDirectory"/>, named for call sites that hold a model path).</summary>
    /// <exception cref="FileNotFoundException">Nothing at <paramref name="path"/>, or no tokenizer in it.</exception>
    /// <exception cref="ModelLoadException">A tokenizer is malformed or of a kind this runtime cannot read.</exception>
    public static ITextTokenizer Load(string path) => FromDirectory(path);

    /// <summary>Loads the tokenizer stored in a GGUF file's <c>tokenizer.ggml.*</c> metadata, with no fallback to files beside it.</summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>, or the file holds no tokenizer.</exception>
    /// <exception cref="ModelLoadException">The file or its tokenizer metadata is malformed.</exception>
    public static ITextTokenizer FromGguf(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"tokenizer: nothing at '{Path.GetFullPath(path)}'", path);
        using var gguf = new GgufReader(path);
        if (!GgufTextTokenizer.HasTokenizer(gguf))
            throw new FileNotFoundException($"tokenizer: '{Path.GetFullPath(path)}' holds no tokenizer (no 'tokenizer.ggml.model' key)", path);
        return GgufTextTokenizer.Load(gguf);
    }

    /// <summary>Loads the tokenizer in <paramref name="path"/>: a checkpoint directory, a GGUF file (its
    /// <c>tokenizer.ggml.*</c> metadata, <see cref="GgufTextTokenizer"/>), or any other file inside a checkpoint directory.
    /// A GGUF file without tokenizer metadata falls back to tokenizer files beside it.</summary>
    /// <exception cref="FileNotFoundException">No directory at <paramref name="path"/>, or no tokenizer files in it.</exception>
    /// <exception cref="ModelLoadException">A tokenizer or config file is malformed; the message names the file and key.</exception>
    public static ITextTokenizer FromDirectory(string path)
    {
        if (File.Exists(path) && GgufReader.HasMagic(path))
        {
            using var gguf = new GgufReader(path);
            if (GgufTextTokenizer.HasTokenizer(gguf)) return GgufTextTokenizer.Load(gguf);
        }
        string directory = Directory.Exists(path) ? Path.GetFullPath(path)
            : File.Exists(path) ? Path.GetDirectoryName(Path.GetFullPath(path))!
            : throw new FileNotFoundException($"tokenizer: nothing at '{Path.GetFullPath(path)}'", path);

        string json = Path.Combine(directory, "tokenizer.json");
        string model = Path.Combine(directory, "tokenizer.model");
        string vocab = Path.Combine(directory, "vocab.json");
        string merges = Path.Combine(directory, "merges.txt");

        ITextTokenizer tokenizer;
        if (File.Exists(json))
        {
            try
            {
                tokenizer = TokenizerJson.Load(json);
            }
            catch (ModelFormatException) when (File.Exists(model))
            {
                // e.g. Llama-2 style SentencePiece BPE in tokenizer.json: the .model file says the same thing.
                tokenizer = SentencePieceTextTokenizer.FromFile(model);
            }
        }
        else if (File.Exists(model))
        {
            tokenizer = SentencePieceTextTokenizer.FromFile(model);
        }
        else if (File.Exists(vocab) && File.Exists(merges))
        {
            tokenizer = ByteLevelBpeTokenizer.FromVocabAndMerges(vocab, merges);
        }
        else
        {
            throw new FileNotFoundException(
                $"tokenizer: no tokenizer in '{directory}': expected tokenizer.json, tokenizer.model, or vocab.json + merges.txt" +
                (File.Exists(path) && GgufReader.HasMagic(path) ? $" (the GGUF file '{Path.GetFullPath(path)}' has no tokenizer.ggml.* metadata)" : ""));
        }

        ApplyTokenizerConfig(tokenizer, Path.Combine(directory, "tokenizer_config.json"));
        ApplyModelConfig(tokenizer, Path.Combine(directory, "config.json"));
        return tokenizer;
    }

    private static void ApplyTokenizerConfig(ITextTokenizer tokenizer, string path)
    {
        if (!File.Exists(path)) return;
        using var doc = ParseObject(path);
        var root = doc.RootElement;
        if (TokenContent(root, "bos_token", path) is { } bos && Find(tokenizer, bos) is int bosId and >= 0) SetBos(tokenizer, bosId);
        if (TokenContent(root, "eos_token", path) is { } eos && Find(tokenizer, eos) is int eosId and >= 0) SetEos(tokenizer, eosId);
        if (root.TryGetProperty("add_bos_token", out var addBos) && addBos.ValueKind != JsonValueKind.Null)
        {
            if (addBos.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                throw new ModelConfigException($"tokenizer: key 'add_bos_token' in '{path}': expected true or false, got {addBos.GetRawText()}");
            SetAddBos(tokenizer, addBos.GetBoolean());
        }
    }

    private static void ApplyModelConfig(ITextTokenizer tokenizer, string path)
    {
        if (!File.Exists(path)) return;
        using var doc = ParseObject(path);
        if (TokenId(doc.RootElement, "bos_token_id", path) is int bos) SetBos(tokenizer, bos);
        if (TokenId(doc.RootElement, "eos_token_id", path) is int eos) SetEos(tokenizer, eos);
    }

    /// <summary>An id key: absent or null = none; an integer; or a list of integers (the first is used).</summary>
    private static int? TokenId(JsonElement root, string key, string path)
    {
        if (!root.TryGetProperty(key, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind == JsonValueKind.Array && value.GetArrayLength() > 0) value = value[0];
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out int id) || id < 0)
            throw new ModelConfigException($"config: key '{key}' in '{path}': expected a non-negative integer token id, got {root.GetProperty(key).GetRawText()}");
        return id;
    }

    /// <summary>A token key of tokenizer_config.json: a string, or an object with "content".</summary>
    private static string? TokenContent(JsonElement root, string key, string path)
    {
        if (!root.TryGetProperty(key, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind == JsonValueKind.String) return value.GetString();
        if (value.ValueKind == JsonValueKind.Object && value.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String)
            return content.GetString();
        throw new ModelConfigException($"tokenizer: key '{key}' in '{path}': expected a string or {{\"content\": ...}}, got {value.GetRawText()}");
    }

    private static JsonDocument ParseObject(string path)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException ex)
        {
            throw new ModelConfigException($"config: '{path}' is not valid JSON ({ex.Message})", ex);
        }
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
        {
            doc.Dispose();
            throw new ModelConfigException($"config: '{path}' is not a JSON object");
        }
        return doc;
    }

    private static int Find(ITextTokenizer tokenizer, string piece) => tokenizer switch
    {
        ByteLevelBpeTokenizer b => b.FindToken(piece),
        SentencePieceTextTokenizer s => s.FindToken(piece),
        _ => -1,
    };

    internal static void SetBos(ITextTokenizer tokenizer, int id)
    {
        if (tokenizer is ByteLevelBpeTokenizer b) b.BosId = id;
        else if (tokenizer is SentencePieceTextTokenizer s) s.BosId = id;
    }

    internal static void SetEos(ITextTokenizer tokenizer, int id)
    {
        if (tokenizer is ByteLevelBpeTokenizer b) b.EosId = id;
        else if (tokenizer is SentencePieceTextTokenizer s) s.EosId = id;
    }

    internal static void SetAddBos(ITextTokenizer tokenizer, bool value)
    {
        if (tokenizer is ByteLevelBpeTokenizer b) b.AddBos = value;
        else if (tokenizer is SentencePieceTextTokenizer s) s.AddBos = value;
    }
}
