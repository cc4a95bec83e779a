using EdgeRuntime.Core;

namespace EdgeRuntime.Models.Sampling;

/// <summary>Chooses the next token from logits: repetition penalty, greedy or temperature / top-k / top-p / min-p sampling.</summary>
/// <remarks>
/// Stages, in Hugging Face <c>generate</c> order (transformers@v4.46.0 generation/logits_process.py):
/// <list type="number">
/// <item>repetition penalty on the raw logits over the ids given to <see cref="Accept(int)"/> (all, or the last <see cref="SamplerOptions.RepeatLastN"/>);</item>
/// <item>greedy: argmax (first index on ties) when <see cref="SamplerOptions.IsGreedy"/>;</item>
/// <item>logits / temperature; top-k (exactly k survive); softmax;</item>
/// <item>top-p: the most likely tokens while the mass before them is below p (so the token that crosses p stays);</item>
/// <item>min-p: tokens with probability ≥ min-p × the largest; then one draw from the renormalised rest.</item>
/// </list>
/// Only the first <see cref="VocabSize"/> logits are read (heads may be padded). Buffers are sized to the vocabulary at
/// construction; <see cref="Sample"/> and <see cref="Accept(int)"/> allocate nothing. Not thread-safe: one sampler per session.
/// </remarks>
public sealed class Sampler
{
    private readonly float[] _keys;
    private readonly int[] _items;
    private readonly RepetitionHistory _history;
    private Xoshiro256StarStar _random;

    /// <summary>Creates a sampler over ids <c>[0, vocabSize)</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="vocabSize"/> &lt; 1 or an option out of range.</exception>
    public Sampler(int vocabSize, SamplerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (vocabSize < 1) ThrowHelper.OutOfRange(nameof(vocabSize), vocabSize, ">= 1");
        options.Validate();
        VocabSize = vocabSize;
        Options = options;
        _keys = new float[vocabSize];
        _items = new int[vocabSize];
        _history = new RepetitionHistory(vocabSize, options.RepeatLastN);
        _random = new Xoshiro256StarStar(options.Seed);
    }

    /// <summary>Ids that may be chosen: <c>[0, VocabSize)</c>.</summary>
    public int VocabSize { get; }

    /// <summary>The options in force.</summary>
    public SamplerOptions Options { get; }

    /// <summary>Records an earlier token (prompt or generated) for the repetition penalty; ids outside the vocabulary are ignored.</summary>
    public void Accept(int token) => _history.Add(token);

    /// <summary>Records earlier tokens for the repetition penalty.</summary>
    public void Accept(ReadOnlySpan<int> tokens)
    {
        foreach (int token in tokens) _history.Add(token);
    }

    /// <summary>Forgets the history and restarts the PRNG from <see cref="SamplerOptions.Seed"/>.</summary>
    public void Reset()
    {
        _history.Clear();
        _random = new Xoshiro256StarStar(Options.Seed);
    }

    /// <summary>Chooses a token id in <c>[0, VocabSize)</c>. Does not record it: call <see cref="Accept(int)"/>.</summary>
    /// <param name="logits">At least <see cref="VocabSize"/> floats; later columns are ignored.</param>
    /// <exception cref="ArgumentException"><paramref name="logits"/> is shorter than <see cref="VocabSize"/>.</exception>
    public int Sample(ReadOnlySpan<float> logits)
    {
        if (logits.Length < VocabSize) ThrowHelper.TooShort(nameof(logits), logits.Length, VocabSize);
        int n = VocabSize;
        Span<float> keys = _keys;
        Span<int> items = _items;
        logits[..n].CopyTo(keys);
        if (Options.RepetitionPenalty != 1f) _history.Apply(keys, Options.RepetitionPenalty);
        if (Options.IsGreedy) return ArgMax(keys);

        // Temperature, and NaN treated as impossible.
        float inverseTemperature = 1f / Options.Temperature;
        for (int i = 0; i < n; i++)
        {
            float x = keys[i];
            keys[i] = float.IsNaN(x) ? float.NegativeInfinity : x * inverseTemperature;
            items[i] = i;
        }

        // Top-k: the k largest keys move to the front.
        if (Options.TopK > 0 && Options.TopK < n)
        {
            SelectLargest(keys[..n], items[..n], Options.TopK);
            n = Options.TopK;
        }

        // Softmax numerators over the candidates (unnormalised; totals carry the normalisation).
        float max = float.NegativeInfinity;
        for (int i = 0; i < n; i++) max = Math.Max(max, keys[i]);
        if (float.IsNegativeInfinity(max)) return ArgMax(logits[..VocabSize]);
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            float p = MathF.Exp(keys[i] - max);
            keys[i] = p;
            total += p;
        }

        if (Options.TopP < 1f)
        {
            n = NucleusCount(keys, items, n, total, Options.TopP);
            total = Sum(keys[..n]);
        }

        if (Options.MinP > 0f)
        {
            // Relative to the most likely survivor (min-p, Nguyen et al. 2024; transformers MinPLogitsWarper).
            float largest = 0f;
            for (int i = 0; i < n; i++) largest = Math.Max(largest, keys[i]);
            float threshold = Options.MinP * largest;
            int kept = 0;
            for (int i = 0; i < n; i++)
            {
                if (keys[i] < threshold) continue;
                keys[kept] = keys[i];
                items[kept] = items[i];
                kept++;
            }
            n = kept;
            total = Sum(keys[..n]);
        }

        // One draw from the remaining mass.
        double u = _random.NextDouble() * total;
        double acc = 0;
        int last = items[0];
        for (int i = 0; i < n; i++)
        {
            if (keys[i] <= 0f) continue;
            acc += keys[i];
            last = items[i];
            if (u < acc) return items[i];
        }
        return last; // rounding left u at the very top
    }

    /// <summary>Applies the repetition penalty to <paramref name="logits"/> in place (first <see cref="VocabSize"/> columns).</summary>
    internal void ApplyPenalty(Span<float> logits)
    {
        if (Options.RepetitionPenalty != 1f) _history.Apply(logits, Options.RepetitionPenalty);
    }

    /// <summary>Index of the largest value (first on ties; NaN never wins).</summary>
    internal static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        float bestValue = float.NegativeInfinity;
        for (int i = 0; i < values.Length; i++)
        {
            if (values[i] > bestValue)
            {
                bestValue = values[i];
                best = i;
            }
        }
        return best;
    }

    /// <summary>How many of the most likely candidates top-p keeps; leaves them first, in descending order.</summary>
    /// <remarks>
    /// Finds the top 64 by selection and sorts only those; grows ×8 when they do not hold p of the mass, so the
    /// usual case costs O(n) instead of a full sort of the vocabulary.
    /// </remarks>
    private static int NucleusCount(Span<float> keys, Span<int> items, int n, double total, float topP)
    {
        double target = topP * total;
        int m = Math.Min(n, 64);
        while (true)
        {
            if (m < n) SelectLargest(keys[..n], items[..n], m);
            SortDescending(keys[..m], items[..m]);
            double before = 0;
            for (int j = 0; j < m; j++)
            {
                if (before >= target) return j;
                before += keys[j];
            }
            if (m == n) return n;
            m = (int)Math.Min(n, (long)m * 8);
        }
    }

    private static void SortDescending(Span<float> keys, Span<int> items)
    {
        // Negate, sort ascending with the default comparer (no allocation), negate back.
        for (int i = 0; i < keys.Length; i++) keys[i] = -keys[i];
        keys.Sort(items);
        for (int i = 0; i < keys.Length; i++) keys[i] = -keys[i];
    }

    /// <summary>Partially orders so that the <paramref name="k"/> largest keys occupy [0, k) (Hoare quickselect, median of three).</summary>
    internal static void SelectLargest(Span<float> keys, Span<int> items, int k)
    {
        int lo = 0, hi = keys.Length - 1;
        while (lo < hi)
        {
            int mid = lo + ((hi - lo) >> 1);
            float a = keys[lo], b = keys[mid], c = keys[hi];
            float pivot = Math.Max(Math.Min(a, b), Math.Min(Math.Max(a, b), c));
            int i = lo, j = hi;
            while (i <= j)
            {
                while (keys[i] > pivot) i++;
                while (keys[j] < pivot) j--;
                if (i <= j)
                {
                    (keys[i], keys[j]) = (keys[j], keys[i]);
                    (items[i], items[j]) = (items[j], items[i]);
                    i++;
                    j--;
                }
            }
            // [lo, j] >= pivot >= [i, hi]; keep narrowing on the side that holds position k - 1.
            if (k - 1 <= j) hi = j;
            else if (k - 1 >= i) lo = i;
            else return;
        }
    }

    private static double Sum(ReadOnlySpan<float> values)
    {
        double sum = 0;
        foreach (float v in values) sum += v;
        return sum;
    }
}
