using EdgeRuntime.Models.Formats;
using EdgeRuntime.Models.Formats.Gguf;

namespace EdgeRuntime.Models.Tokenizers;

/// <summary>Rebuilds a tokenizer from GGUF <c>tokenizer.ggml.*</c> metadata: the reverse of <see cref="GgufTokenizer"/>.</summary>
/// <remarks>
/// Reference: ggml-org/ggml docs/gguf.md "Tokenizer" (keys and token types) and llama.cpp's <c>llm_tokenizer_bpe</c> for
/// model <c>gpt2</c>. Stateless; safe from any thread.
/// </remarks>
internal static class GgufTokenizerReader
{
    private const int TokenTypeControl = 3, TokenTypeUserDefined = 4;

    /// <summary>Builds the tokenizer described by <paramref name="metadata"/>.</summary>
    /// <param name="metadata">The file's metadata.</param>
    /// <param name="path">The file, for messages.</param>
    /// <exception cref="FileNotFoundException">The metadata holds no tokenizer.</exception>
    /// <exception cref="ModelLoadException">A key is malformed, or the tokenizer is of an unsupported kind.</exception>
    public static ITextTokenizer Read(GgufMetadata metadata, string path)
    {
        if (!metadata.Contains("tokenizer.ggml.model"))
            throw new FileNotFoundException($"tokenizer: '{path}' holds no tokenizer (no 'tokenizer.ggml.model' key); pass a tokenizer directory", path);
        string model = metadata.GetString("tokenizer.ggml.model");
        if (model != "gpt2")
            throw new ModelFormatException(
                $"tokenizer: key 'tokenizer.ggml.model' in '{path}': expected 'gpt2' (byte-level BPE), got '{model}'; " +
                "load a SentencePiece vocabulary from its tokenizer.model instead");
        if (metadata.Contains("tokenizer.ggml.pre") && metadata.GetString("tokenizer.ggml.pre") is var pre && pre is not ("gpt2" or "default"))
            throw new ModelFormatException(
                $"tokenizer: key 'tokenizer.ggml.pre' in '{path}': expected 'gpt2' or 'default' (GPT-2's pre-tokenizer), got '{pre}'");

        string[] tokens = metadata.GetStringArray("tokenizer.ggml.tokens");
        string[] merges = metadata.Contains("tokenizer.ggml.merges") ? metadata.GetStringArray("tokenizer.ggml.merges") : [];
        int[]? types = metadata.Contains("tokenizer.ggml.token_type") ? metadata.GetInt32Array("tokenizer.ggml.token_type") : null;
        if (types is not null && types.Length != tokens.Length)
            throw new ModelFormatException(
                $"tokenizer: key 'tokenizer.ggml.token_type' in '{path}': expected {tokens.Length} entries (one per token), got {types.Length}");

        var vocab = new Dictionary<string, int>(tokens.Length, StringComparer.Ordinal);
        var added = new List<(string Content, int Id, bool Special)>();
        for (int id = 0; id < tokens.Length; id++)
        {
            int type = types?[id] ?? 1;
            if (type is TokenTypeControl or TokenTypeUserDefined)
            {
                added.Add((tokens[id], id, type == TokenTypeControl));
                continue;
            }
            if (!vocab.TryAdd(tokens[id], id))
                throw new ModelFormatException($"tokenizer: tokens {vocab[tokens[id]]} and {id} in '{path}' are both '{tokens[id]}'");
        }

        var tokenizer = ByteLevelBpeTokenizer.Create(vocab, merges, added, splitPattern: null, addPrefixSpace: false,
            $"byte-level BPE (GGUF {Path.GetFileName(path)})", path);
        if (SpecialId(metadata, "tokenizer.ggml.bos_token_id", tokens.Length, path) is int bos) TokenizerLoader.SetBos(tokenizer, bos);
        if (SpecialId(metadata, "tokenizer.ggml.eos_token_id", tokens.Length, path) is int eos) TokenizerLoader.SetEos(tokenizer, eos);
        if (metadata.Contains("tokenizer.ggml.add_bos_token")) TokenizerLoader.SetAddBos(tokenizer, metadata.GetBool("tokenizer.ggml.add_bos_token"));
        return tokenizer;
    }

    private static int? SpecialId(GgufMetadata metadata, string key, int count, string path)
    {
        if (!metadata.Contains(key)) return null;
        long id = metadata.GetInteger(key);
        if (id < 0 || id >= count)
            throw new ModelFormatException($"tokenizer: key '{key}' in '{path}': expected a token id below {count}, got {id}");
        return (int)id;
    }
}
