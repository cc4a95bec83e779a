using EdgeRuntime.Models.Sessions;

namespace EdgeRuntime.Tests.Generation;

/// <summary>
/// A fake language model: after the token at position p it puts a clear maximum on <c>Script[p + 1 - ScriptStart]</c>
/// (cycling), so greedy decoding replays the script; it records every token it is fed.
/// The head is padded by 3 columns holding +100, which a correct sampler never reads.
/// </summary>
internal sealed class ScriptedModel : ILanguageModel
{
    private const int PositionOffset = 0;

    public ScriptedModel(int vocabSize, int[] script, int scriptStart)
    {
        VocabSize = vocabSize;
        Script = script;
        ScriptStart = scriptStart;
    }

    public int[] Script { get; }

    public int ScriptStart { get; }

    public List<int> Fed { get; } = [];

    public int StepCalls { get; private set; }

    public int PrefillCalls { get; private set; }

    /// <summary>When set, Step throws at this position.</summary>
    public long? FailAt { get; set; }

    public ModelInfo Info => new("scripted", "(memory)", [], 0, 0, StateLength * sizeof(float));

    public int StateLength => 3;

    public int VocabSize { get; }

    public int LogitsLength => VocabSize + 3;

    public void InitState(Span<float> state) => state.Clear();

    public ModelScratch CreateScratch() => new Scratch();

    public long Position(ReadOnlySpan<float> state) => StatePosition.Get(state, PositionOffset);

    public void Step(int token, Span<float> state, Span<float> logits, ModelScratch scratch)
    {
        StepCalls++;
        Consume(token, state, logits);
    }

    public void Prefill(ReadOnlySpan<int> tokens, Span<float> state, Span<float> logits, ModelScratch scratch)
    {
        PrefillCalls++;
        for (int i = 0; i < tokens.Length; i++) Consume(tokens[i], state, i == tokens.Length - 1 ? logits : default);
    }

    public void Dispose() { }

    private void Consume(int token, Span<float> state, Span<float> logits)
    {
        long position = StatePosition.Get(state, PositionOffset);
        if (FailAt == position) throw new InvalidOperationException("scripted failure");
        Fed.Add(token);
        StatePosition.Set(state, PositionOffset, position + 1);
        state[2] = token;
        if (logits.IsEmpty) return;
        logits.Clear();
        long index = position + 1 - ScriptStart;
        int next = index >= 0 ? Script[(int)(index % Script.Length)] : 0;
        logits[next] = 10f;
        logits[^3..].Fill(100f);
    }

    private sealed class Scratch : ModelScratch { }
}
