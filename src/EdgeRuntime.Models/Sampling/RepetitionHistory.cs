namespace EdgeRuntime.Models.Sampling;

/// <summary>Which token ids count as "earlier" for the repetition penalty: all accepted ids, or the last N.</summary>
/// <remarks>
/// Constant memory whatever the length of the conversation: a count per vocabulary id, plus a ring of the last N ids
/// when a window is set. <see cref="Add"/> is O(1) and allocation-free. Not thread-safe; owned by one <see cref="Sampler"/>.
/// </remarks>
internal sealed class RepetitionHistory
{
    private readonly int[] _counts;
    private readonly int[] _ring;
    private int _ringNext;
    private int _ringCount;

    /// <summary>Creates an empty history over <paramref name="vocabSize"/> ids; <paramref name="window"/> 0 = unbounded.</summary>
    public RepetitionHistory(int vocabSize, int window)
    {
        _counts = new int[vocabSize];
        _ring = new int[window];
    }

    /// <summary>Records <paramref name="token"/>; ids outside the vocabulary are ignored.</summary>
    public void Add(int token)
    {
        if ((uint)token >= (uint)_counts.Length) return;
        if (_ring.Length == 0)
        {
            _counts[token] = 1; // presence is all an unbounded history needs
            return;
        }
        if (_ringCount == _ring.Length) _counts[_ring[_ringNext]]--;
        else _ringCount++;
        _ring[_ringNext] = token;
        _ringNext = _ringNext + 1 == _ring.Length ? 0 : _ringNext + 1;
        _counts[token]++;
    }

    /// <summary>Forgets everything.</summary>
    public void Clear()
    {
        Array.Clear(_counts);
        _ringNext = 0;
        _ringCount = 0;
    }

    /// <summary>Applies the Hugging Face penalty in place: logit/p if &gt; 0, else logit·p, once per distinct id in the history.</summary>
    /// <remarks>Reference: huggingface/transformers@v4.46.0 src/transformers/generation/logits_process.py <c>RepetitionPenaltyLogitsProcessor</c>.</remarks>
    public void Apply(Span<float> logits, float penalty)
    {
        int n = Math.Min(logits.Length, _counts.Length);
        for (int i = 0; i < n; i++)
        {
            if (_counts[i] == 0) continue;
            float x = logits[i];
            logits[i] = x > 0f ? x / penalty : x * penalty;
        }
    }
}
