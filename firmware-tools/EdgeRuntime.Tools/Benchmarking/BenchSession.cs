using EdgeRuntime.Models.Sessions;

namespace EdgeRuntime.Tools.Benchmarking;

/// <summary>One model session driven by the benchmark: a fixed input stream (token ids or sensor vectors prepared before any
/// timing, so tokenization and sampling are excluded), the state and the output buffers.</summary>
/// <remarks>Owned by one benchmark run; not thread-safe.</remarks>
internal abstract class BenchSession : IDisposable
{
    /// <summary>Items per prefill call; longer prefills run in calls of this many (constant memory).</summary>
    public const int Chunk = 512;

    private int _cursor;

    protected BenchSession(IModel model)
    {
        Model = model;
        State = new float[model.StateLength];
        Scratch = model.CreateScratch();
        Reset();
    }

    /// <summary>The model.</summary>
    public IModel Model { get; }

    /// <summary>"tokens" for language models, "steps" for sequence models.</summary>
    public abstract string Unit { get; }

    protected float[] State { get; }

    protected ModelScratch Scratch { get; }

    /// <summary>Opens a session on a language or sequence model.</summary>
    public static BenchSession Create(IModel model, int seed) => model switch
    {
        ILanguageModel lm => new LanguageSession(lm, seed),
        ISequenceModel sm => new SequenceSession(sm, seed),
        _ => throw new NotSupportedException($"bench: {model.GetType().Name} is neither a language nor a sequence model"),
    };

    /// <summary>Empty history.</summary>
    public void Reset()
    {
        Model.InitState(State);
        _cursor = 0;
    }

    /// <summary>Copies the state into <paramref name="copy"/> (<see cref="IModel.StateLength"/> floats, caller-owned).</summary>
    public void SaveState(float[] copy) => State.AsSpan().CopyTo(copy);

    /// <summary>Restores a state saved with <see cref="SaveState"/>.</summary>
    public void LoadState(float[] copy) => copy.AsSpan().CopyTo(State);

    /// <summary>Tokens (steps) the state has consumed.</summary>
    public long Position => Model.Position(State);

    /// <summary>Sets the position counter of an empty state to <paramref name="position"/>, through the convention all three
    /// families document (<see cref="StatePosition"/> at offset 0); false when the model does not follow it.</summary>
    public bool TrySetPosition(long position)
    {
        if (Model.Position(State) != 0) return false;
        StatePosition.Set(State, 0, position);
        if (Model.Position(State) == position) return true;
        Reset();
        return false;
    }

    /// <summary>Consumes <paramref name="count"/> items in the parallel form (at most <see cref="Chunk"/>), computing the
    /// output of the last one when <paramref name="output"/> (logits of the last token, as llama-bench's pp).</summary>
    public void Prefill(int count, bool output)
    {
        PrefillCore(_cursor, count, output);
        _cursor = (_cursor + count) % Chunk;
    }

    /// <summary>Consumes one item in the recurrent form, computing its output (logits).</summary>
    public void Step()
    {
        StepCore(_cursor);
        _cursor = (_cursor + 1) % Chunk;
    }

    protected abstract void PrefillCore(int start, int count, bool output);

    protected abstract void StepCore(int index);

    public void Dispose() => Scratch.Dispose();

    private sealed class LanguageSession : BenchSession
    {
        private readonly ILanguageModel _model;
        private readonly int[] _tokens = new int[2 * Chunk];
        private readonly float[] _logits;

        public LanguageSession(ILanguageModel model, int seed) : base(model)
        {
            _model = model;
            _logits = new float[model.LogitsLength];
            var rng = new Random(seed);
            for (int i = 0; i < _tokens.Length; i++) _tokens[i] = rng.Next(model.VocabSize);
        }

        public override string Unit => "tokens";

        protected override void PrefillCore(int start, int count, bool output) =>
            _model.Prefill(_tokens.AsSpan(start, count), State, output ? _logits : [], Scratch);

        protected override void StepCore(int index) => _model.Step(_tokens[index], State, _logits, Scratch);
    }

    private sealed class SequenceSession : BenchSession
    {
        private readonly ISequenceModel _model;
        private readonly float[] _inputs, _outputs;

        public SequenceSession(ISequenceModel model, int seed) : base(model)
        {
            _model = model;
            _inputs = new float[2 * Chunk * model.InputLength];
            _outputs = new float[Chunk * model.OutputLength];
            var rng = new Random(seed);
            for (int i = 0; i < _inputs.Length; i++) _inputs[i] = (float)(rng.NextDouble() * 2 - 1);
        }

        public override string Unit => "steps";

        // The parallel form yields every step's output; Aaren has no cheaper "last only" mode, so output is always computed.
        protected override void PrefillCore(int start, int count, bool output) =>
            _model.Prefill(_inputs.AsSpan(start * _model.InputLength, count * _model.InputLength), State,
                _outputs.AsSpan(0, count * _model.OutputLength), Scratch);

        protected override void StepCore(int index) =>
            _model.Step(_inputs.AsSpan(index * _model.InputLength, _model.InputLength), State, _outputs.AsSpan(0, _model.OutputLength), Scratch);
    }
}
