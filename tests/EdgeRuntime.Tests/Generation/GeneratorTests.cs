using System.Text;
using EdgeRuntime.Models.Generation;
using EdgeRuntime.Models.Sampling;
using EdgeRuntime.Models.Sessions;
using EdgeRuntime.Models.Tokenizers;
using EdgeRuntime.Tests.Tokenizers;

namespace EdgeRuntime.Tests.Generation;

public class GeneratorTests
{
    private static readonly GeneratorOptions s_greedy = new() { Sampling = SamplerOptions.Greedy, MaxTokens = 100 };

    [Fact]
    public void TryNextToken_ReplaysScript_When_GreedyUntilLength()
    {
        var model = new ScriptedModel(32, [5, 6, 7, 8, 9], scriptStart: 3);
        using var session = new InferenceSession(model);
        var generator = new Generator(session, null, s_greedy with { MaxTokens = 4 });
        generator.AppendPrompt([1, 2, 3]);
        var tokens = Run(generator, out string text);
        Assert.Equal(new[] { 5, 6, 7, 8 }, tokens);
        Assert.Equal("", text);
        Assert.Equal(FinishReason.Length, generator.FinishReason);
        Assert.Equal(new GenerationUsage(3, 4), generator.Usage);
        Assert.Equal(new[] { 1, 2, 3, 5, 6, 7 }, model.Fed); // the last token waits until it is needed
        Assert.False(generator.TryNextToken(out int after, out _));
        Assert.Equal(-1, after);
        Assert.Equal(4, generator.Timings.DecodeTokens);
        Assert.True(generator.Timings.DecodeMs >= 0 && generator.Timings.PromptMs >= 0);
    }

    [Fact]
    public void TryNextToken_StopsWithoutText_When_EosGenerated()
    {
        var tokenizer = TokenizerTestData.Gpt2;
        int[] prompt = tokenizer.Encode("Say hi:");
        int[] script = [.. tokenizer.Encode(" Hello world"), tokenizer.EosId, .. tokenizer.Encode(" never")];
        var generator = Create(tokenizer, prompt, script, s_greedy, out _);
        var tokens = Run(generator, out string text);
        Assert.Equal(" Hello world", text);
        Assert.Equal(FinishReason.Stop, generator.FinishReason);
        Assert.Equal(tokenizer.EosId, tokens[^1]);
        Assert.Equal(3, generator.Usage.CompletionTokens); // " Hello", " world", EOS
    }

    [Fact]
    public void TryNextToken_KeepsGoing_When_EosStopDisabled()
    {
        var tokenizer = TokenizerTestData.Gpt2;
        int[] script = [.. tokenizer.Encode(" a"), tokenizer.EosId, .. tokenizer.Encode(" b")];
        var generator = Create(tokenizer, tokenizer.Encode("x"), script, s_greedy with { StopOnEos = false, MaxTokens = 3 }, out _);
        Run(generator, out string text);
        Assert.Equal(" a b", text); // EOS is special: no text
        Assert.Equal(FinishReason.Length, generator.FinishReason);
    }

    [Fact]
    public void TryNextToken_HidesStopString_When_SplitAcrossTokens()
    {
        var tokenizer = TokenizerTestData.Gpt2;
        int[] script = tokenizer.Encode(" one two three four");
        var generator = Create(tokenizer, tokenizer.Encode("Count:"), script, s_greedy with { StopStrings = ["o th"] }, out _);
        var pieces = new List<string>();
        while (generator.TryNextToken(out _, out string piece)) pieces.Add(piece);
        Assert.Equal(" one tw", string.Concat(pieces));
        Assert.Equal(FinishReason.Stop, generator.FinishReason);
        Assert.Equal(3, generator.Usage.CompletionTokens); // " one", " two", " three"
        Assert.DoesNotContain(pieces, p => p.Contains("o th", StringComparison.Ordinal));
    }

    [Fact]
    public void TryNextToken_ReleasesHeldPrefix_When_StopNeverCompletes()
    {
        var tokenizer = TokenizerTestData.Gpt2;
        int[] script = tokenizer.Encode(" one two three");
        var generator = Create(tokenizer, tokenizer.Encode("Count:"), script, s_greedy with { StopStrings = ["o x"], MaxTokens = 3 }, out _);
        Run(generator, out string text);
        Assert.Equal(" one two three", text);
        Assert.Equal(FinishReason.Length, generator.FinishReason);
    }

    [Fact]
    public void TryNextToken_StreamsEmojiWhole_When_ByteTokens()
    {
        var tokenizer = (ByteLevelBpeTokenizer)TokenizerTestData.Gpt2;
        int[] script = [.. Encoding.UTF8.GetBytes("🚀").Select(b => tokenizer.FindToken(ByteLevelAlphabet.ToChar(b).ToString()))];
        var generator = Create(tokenizer, tokenizer.Encode("Go"), script, s_greedy with { MaxTokens = 4 }, out _);
        var pieces = new List<string>();
        while (generator.TryNextToken(out _, out string piece)) pieces.Add(piece);
        Assert.Equal(new[] { "", "", "", "🚀" }, pieces);
    }

    [Fact]
    public void TryNextToken_FlushesReplacement_When_LengthEndsInsideCharacter()
    {
        var tokenizer = (ByteLevelBpeTokenizer)TokenizerTestData.Gpt2;
        int[] script = [.. tokenizer.Encode(" ok"), .. Encoding.UTF8.GetBytes("🚀").Take(2).Select(b => tokenizer.FindToken(ByteLevelAlphabet.ToChar(b).ToString()))];
        var generator = Create(tokenizer, tokenizer.Encode("Go"), script, s_greedy with { MaxTokens = 3 }, out _);
        Run(generator, out string text);
        Assert.Equal(" ok\uFFFD", text);
    }

    [Fact]
    public void TryNextToken_EndsCancelled_When_TokenFires()
    {
        using var cts = new CancellationTokenSource();
        var model = new ScriptedModel(32, [5, 6, 7, 8, 9], scriptStart: 1);
        using var session = new InferenceSession(model);
        var generator = new Generator(session, null, s_greedy, cts.Token);
        generator.AppendPrompt([1]);
        Assert.True(generator.TryNextToken(out int a, out _));
        Assert.True(generator.TryNextToken(out int b, out _));
        cts.Cancel();
        Assert.False(generator.TryNextToken(out int c, out _));
        Assert.Equal((5, 6, -1), (a, b, c));
        Assert.Equal(FinishReason.Cancelled, generator.FinishReason);
        Assert.Equal(2, generator.Usage.CompletionTokens);
    }

    [Fact]
    public void TryNextToken_ReturnsHeldText_When_CancelledWhileHolding()
    {
        using var cts = new CancellationTokenSource();
        var tokenizer = TokenizerTestData.Gpt2;
        int[] script = tokenizer.Encode(" a STO");
        var generator = Create(tokenizer, tokenizer.Encode("x"), script, s_greedy with { StopStrings = ["STOP"] }, out _, cts.Token);
        var sb = new StringBuilder();
        for (int i = 0; i < script.Length; i++)
        {
            Assert.True(generator.TryNextToken(out _, out string piece));
            sb.Append(piece);
        }
        Assert.Equal(" a ", sb.ToString()); // "STO" could still become "STOP"
        cts.Cancel();
        Assert.True(generator.TryNextToken(out int token, out string rest));
        Assert.Equal((-1, "STO"), (token, rest));
        Assert.False(generator.TryNextToken(out _, out _));
        Assert.Equal(FinishReason.Cancelled, generator.FinishReason);
    }

    [Fact]
    public void AppendPrompt_ContinuesConversation_When_RoundFinished()
    {
        var model = new ScriptedModel(32, [5, 6, 7, 8, 9, 10, 11], scriptStart: 2);
        using var session = new InferenceSession(model);
        var generator = new Generator(session, null, s_greedy with { MaxTokens = 2 });
        generator.AppendPrompt([1, 2]);
        Assert.Equal(new[] { 5, 6 }, Run(generator, out _));
        generator.AppendPrompt([20]); // feeds the pending 6, then 20
        Assert.Null(generator.FinishReason);
        Assert.Equal(new GenerationUsage(1, 0), generator.Usage);
        var second = Run(generator, out _);
        Assert.Equal(new[] { 1, 2, 5, 6, 20, 8 }, model.Fed);
        Assert.Equal(new[] { 8, 9 }, second); // positions 4 and 5 of the script
        Assert.Equal(FinishReason.Length, generator.FinishReason);
    }

    [Fact]
    public void AppendPrompt_AddsBos_When_TokenizerAsksAtSequenceStart()
    {
        var tokenizer = TokenizerTestData.Spm; // SentencePiece: AddBos, BOS = 1
        var model = new ScriptedModel(tokenizer.VocabSize, [261], scriptStart: 0);
        using var session = new InferenceSession(model);
        var generator = new Generator(session, tokenizer, s_greedy with { MaxTokens = 1 });
        generator.AppendPrompt("a");
        generator.AppendPrompt("a"); // not at the start any more: no second BOS
        Assert.Equal(new[] { 1, 261, 261 }, model.Fed);
        Assert.Equal(3, generator.Usage.PromptTokens);
    }

    [Fact]
    public void AppendPrompt_PrefillsInChunks_When_PromptLong()
    {
        var model = new ScriptedModel(32, [5], scriptStart: 0);
        using var session = new InferenceSession(model);
        var generator = new Generator(session, null, s_greedy with { PromptChunk = 4 });
        generator.AppendPrompt([.. Enumerable.Range(0, 10)]);
        Assert.Equal(3, model.PrefillCalls);
        Assert.Equal(10, session.Position);
    }

    [Fact]
    public void TryNextToken_Throws_When_NoPrompt()
    {
        using var session = new InferenceSession(new ScriptedModel(8, [1], 0));
        var generator = new Generator(session, null, s_greedy);
        Assert.Throws<InvalidOperationException>(() => generator.TryNextToken(out _, out _));
    }

    [Fact]
    public void TryNextToken_EndsWithError_When_ModelThrows()
    {
        var model = new ScriptedModel(32, [5, 6, 7], scriptStart: 1) { FailAt = 2 };
        using var session = new InferenceSession(model);
        var generator = new Generator(session, null, s_greedy);
        generator.AppendPrompt([1]);
        Assert.True(generator.TryNextToken(out _, out _)); // samples 5 from the prompt's logits
        Assert.True(generator.TryNextToken(out _, out _)); // steps 5 (position 1), samples 6
        Assert.Throws<InvalidOperationException>(() => generator.TryNextToken(out _, out _)); // steps 6 at position 2
        Assert.Equal(FinishReason.Error, generator.FinishReason);
    }

    [Fact]
    public void Constructor_Throws_When_StopStringsWithoutTokenizer()
    {
        using var session = new InferenceSession(new ScriptedModel(8, [1], 0));
        Assert.Throws<ArgumentException>(() => new Generator(session, null, new GeneratorOptions { StopStrings = ["x"] }));
    }

    [Fact]
    public void AppendPrompt_Throws_When_IdOutsideVocabulary()
    {
        var model = new ScriptedModel(8, [1], 0);
        using var session = new InferenceSession(model);
        var generator = new Generator(session, null, s_greedy);
        Assert.Throws<ArgumentOutOfRangeException>(() => generator.AppendPrompt([1, 8]));
        Assert.Empty(model.Fed);
    }

    private static Generator Create(ITextTokenizer tokenizer, int[] prompt, int[] script, GeneratorOptions options, out ScriptedModel model, CancellationToken cancellation = default)
    {
        model = new ScriptedModel(tokenizer.VocabSize, script, prompt.Length);
        var session = new InferenceSession(model); // the fake model holds no native memory worth disposing in a test
        var generator = new Generator(session, tokenizer, options, cancellation);
        generator.AppendPrompt(prompt);
        return generator;
    }

    private static List<int> Run(Generator generator, out string text)
    {
        var tokens = new List<int>();
        var sb = new StringBuilder();
        while (generator.TryNextToken(out int token, out string piece))
        {
            if (token >= 0) tokens.Add(token);
            sb.Append(piece);
        }
        text = sb.ToString();
        return tokens;
    }
}
