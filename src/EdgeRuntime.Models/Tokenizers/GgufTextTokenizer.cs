using EdgeRuntime.Models.Formats;
using EdgeRuntime.Models.Formats.Gguf;
using Google.Protobuf;

namespace EdgeRuntime.Models.Tokenizers;

/// <summary>Rebuilds a text tokenizer from a GGUF file's <c>tokenizer.ggml.*</c> metadata, so one GGUF file is enough to
/// generate text (docs/formats.md §2).</summary>
/// <remarks>
/// <para><c>gpt2</c>: byte-level BPE from <c>tokens</c> (id order) and <c>merges</c>, GPT-2's pre-tokenizer, as
/// <see cref="ByteLevelBpeTokenizer.FromVocabAndMerges"/>.</para>
/// <para><c>llama</c>: SentencePiece BPE (llama.cpp's reading of the key): a <c>ModelProto</c> is rebuilt from
/// <c>tokens</c>, <c>scores</c> and <c>token_type</c>, with byte fallback when byte pieces exist, identity normalization,
/// no whitespace collapsing and a dummy prefix unless <c>tokenizer.ggml.add_space_prefix</c> is false (the Llama and
/// TransNormerLLM settings; GGUF records no others).</para>
/// <para><c>bos_token_id</c>/<c>eos_token_id</c> override the tokenizer's own; <c>add_bos_token</c> (bool), when present,
/// sets <see cref="ITextTokenizer.AddBos"/>. Stateless; safe from any thread.</para>
/// </remarks>
public static class GgufTextTokenizer
{
    /// <summary>Whether <paramref name="file"/> carries a tokenizer.</summary>
    public static bool HasTokenizer(GgufReader file) => file.Metadata.Contains("tokenizer.ggml.model");

    /// <summary>The tokenizer stored in <paramref name="file"/>.</summary>
    /// <exception cref="ModelConfigException">No tokenizer, an unknown model, or a missing or wrong-typed key.</exception>
    /// <exception cref="ModelFormatException">Inconsistent contents (e.g. array lengths differ, duplicate tokens).</exception>
    public static ITextTokenizer Load(GgufReader file)
    {
        var m = file.Metadata;
        if (!HasTokenizer(file))
            throw new ModelConfigException($"tokenizer: '{file.Path}' has no 'tokenizer.ggml.model'; convert the checkpoint with its tokenizer files beside config.json");
        string model = m.GetString("tokenizer.ggml.model");
        ITextTokenizer tokenizer = model switch
        {
            "gpt2" => LoadGpt2(file),
            "llama" => LoadLlama(file),
            _ => throw new ModelConfigException($"tokenizer: 'tokenizer.ggml.model' is '{model}' in '{file.Path}', expected 'gpt2' or 'llama'"),
        };
        int? bos = OptionalId(file, "tokenizer.ggml.bos_token_id", tokenizer.VocabSize);
        int? eos = OptionalId(file, "tokenizer.ggml.eos_token_id", tokenizer.VocabSize);
        bool? addBos = m.Contains("tokenizer.ggml.add_bos_token") ? m.GetBool("tokenizer.ggml.add_bos_token") : null;
        switch (tokenizer)
        {
            case ByteLevelBpeTokenizer b:
                if (bos is int bb) b.BosId = bb;
                if (eos is int be) b.EosId = be;
                if (addBos is bool ab) b.AddBos = ab;
                break;
            case SentencePieceTextTokenizer s:
                if (bos is int sb) s.BosId = sb;
                if (eos is int se) s.EosId = se;
                if (addBos is bool sa) s.AddBos = sa;
                break;
        }
        return tokenizer;
    }

    private static ByteLevelBpeTokenizer LoadGpt2(GgufReader file)
    {
        string[] tokens = file.Metadata.GetStringArray("tokenizer.ggml.tokens");
        string[] merges = file.Metadata.GetStringArray("tokenizer.ggml.merges");
        var vocab = new Dictionary<string, int>(tokens.Length, StringComparer.Ordinal);
        for (int id = 0; id < tokens.Length; id++)
            if (!vocab.TryAdd(tokens[id], id))
                throw file.Error($"tokenizer.ggml.tokens: token '{tokens[id]}' appears at ids {vocab[tokens[id]]} and {id}");
        return ByteLevelBpeTokenizer.Create(vocab, merges, [], splitPattern: null, addPrefixSpace: false,
            $"byte-level BPE (GGUF tokenizer.ggml, {tokens.Length} tokens, {merges.Length} merges)", file.Path);
    }

    private static SentencePieceTextTokenizer LoadLlama(GgufReader file)
    {
        var m = file.Metadata;
        string[] tokens = m.GetStringArray("tokenizer.ggml.tokens");
        float[] scores = m.GetFloat32Array("tokenizer.ggml.scores");
        int[] types = m.GetInt32Array("tokenizer.ggml.token_type");
        if (scores.Length != tokens.Length || types.Length != tokens.Length)
            throw file.Error($"tokenizer.ggml: {tokens.Length} tokens but {scores.Length} scores and {types.Length} token types; expected equal counts");
        int unk = OptionalId(file, "tokenizer.ggml.unknown_token_id", tokens.Length) ?? Math.Max(0, Array.IndexOf(types, 2));
        int bos = OptionalId(file, "tokenizer.ggml.bos_token_id", tokens.Length) ?? -1;
        int eos = OptionalId(file, "tokenizer.ggml.eos_token_id", tokens.Length) ?? -1;
        int pad = OptionalId(file, "tokenizer.ggml.padding_token_id", tokens.Length) ?? -1;
        bool addDummyPrefix = !m.Contains("tokenizer.ggml.add_space_prefix") || m.GetBool("tokenizer.ggml.add_space_prefix");

        // sentencepiece_model.proto (google/sentencepiece@v0.1.97): ModelProto { pieces = 1; trainer_spec = 2; normalizer_spec = 3 }.
        using var stream = new MemoryStream();
        var output = new CodedOutputStream(stream);
        for (int i = 0; i < tokens.Length; i++)
        {
            if (types[i] is < 1 or > 6) throw file.Error($"tokenizer.ggml.token_type[{i}] is {types[i]}, expected 1..6");
            var piece = new MemoryStream();
            var p = new CodedOutputStream(piece);
            p.WriteTag(1, WireFormat.WireType.LengthDelimited); p.WriteString(tokens[i]);
            p.WriteTag(2, WireFormat.WireType.Fixed32); p.WriteFloat(scores[i]);
            p.WriteTag(3, WireFormat.WireType.Varint); p.WriteEnum(types[i]);
            p.Flush();
            output.WriteTag(1, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(ByteString.CopyFrom(piece.ToArray()));
        }
        var trainer = new MemoryStream();
        var t = new CodedOutputStream(trainer);
        t.WriteTag(3, WireFormat.WireType.Varint); t.WriteEnum(2);                         // model_type = BPE
        t.WriteTag(35, WireFormat.WireType.Varint); t.WriteBool(Array.IndexOf(types, 6) >= 0); // byte_fallback
        t.WriteTag(40, WireFormat.WireType.Varint); t.WriteInt32(unk);
        t.WriteTag(41, WireFormat.WireType.Varint); t.WriteInt32(bos);
        t.WriteTag(42, WireFormat.WireType.Varint); t.WriteInt32(eos);
        t.WriteTag(43, WireFormat.WireType.Varint); t.WriteInt32(pad);
        t.Flush();
        output.WriteTag(2, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(trainer.ToArray()));
        var normalizer = new MemoryStream();
        var n = new CodedOutputStream(normalizer);
        n.WriteTag(1, WireFormat.WireType.LengthDelimited); n.WriteString("identity");
        n.WriteTag(3, WireFormat.WireType.Varint); n.WriteBool(addDummyPrefix);
        n.WriteTag(4, WireFormat.WireType.Varint); n.WriteBool(false);                      // remove_extra_whitespaces
        n.WriteTag(5, WireFormat.WireType.Varint); n.WriteBool(true);                       // escape_whitespaces
        n.Flush();
        output.WriteTag(3, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(normalizer.ToArray()));
        output.Flush();
        return SentencePieceTextTokenizer.FromModelBytes(stream.ToArray(), file.Path,
            $"SentencePiece BPE (GGUF tokenizer.ggml, {tokens.Length} pieces)");
    }

    /// <summary>An optional integer id key, checked against the vocabulary.</summary>
    private static int? OptionalId(GgufReader file, string key, int vocabSize)
    {
        if (!file.Metadata.Contains(key)) return null;
        long id = file.Metadata.GetInteger(key);
        if (id < 0 || id >= vocabSize) throw new ModelConfigException($"tokenizer: '{key}' in '{file.Path}': expected 0..{vocabSize - 1}, got {id}");
        return (int)id;
    }
}
