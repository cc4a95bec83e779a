using EdgeRuntime.Messaging;
using EdgeRuntime.Messaging.Protocol;

namespace EdgeRuntime.Service.Hosting;

/// <summary>What one process serves: a language model on <c>generate</c>, a sequence model on <c>infer</c>, or both.</summary>
/// <remarks>
/// A request to a topic with no model is rejected by the parser (<c>unsupported</c>, naming the topic that has one), so
/// workers only ever see requests for a model that is here. Immutable; owns the models (disposed with it).
/// </remarks>
public sealed class ServedModels : IDisposable
{
    /// <summary>Pairs the loaded models with the topics they serve.</summary>
    /// <param name="generate">A language model, or null.</param>
    /// <param name="infer">A sequence model, or null.</param>
    /// <exception cref="ArgumentException">Both are null, or one is of the wrong kind.</exception>
    public ServedModels(LoadedModel? generate, LoadedModel? infer)
    {
        if (generate is null && infer is null) throw new ArgumentException("at least one model must be served", nameof(generate));
        if (generate is not null && generate.Language is null) throw new ArgumentException($"the generate model must be a language model, got a {generate.Kind} model", nameof(generate));
        if (infer is not null && infer.Sequence is null) throw new ArgumentException($"the infer model must be a sequence model, got a {infer.Kind} model", nameof(infer));
        Generate = generate;
        Infer = infer;
        Capabilities = new ModelCapabilities(
            generate is not null,
            generate?.Language!.VocabSize ?? 0,
            generate?.Tokenizer is not null,
            infer?.Sequence!.InputLength ?? 0);
    }

    /// <summary>The language model answering <c>generate</c>, or null.</summary>
    public LoadedModel? Generate { get; }

    /// <summary>The sequence model answering <c>infer</c>, or null.</summary>
    public LoadedModel? Infer { get; }

    /// <summary>What requests may ask (for the request parser).</summary>
    public ModelCapabilities Capabilities { get; }

    /// <summary>The served models, generate first.</summary>
    public IEnumerable<LoadedModel> All
    {
        get
        {
            if (Generate is not null) yield return Generate;
            if (Infer is not null) yield return Infer;
        }
    }

    /// <summary>The families for status lines, e.g. "based + aaren".</summary>
    public string Families => string.Join(" + ", All.Select(m => m.Model.Info.Family));

    /// <summary>The <c>models</c> part of the birth message.</summary>
    public StatusModels ToStatus() => new() { Generate = Generate?.ToStatus(), Infer = Infer?.ToStatus() };

    /// <inheritdoc />
    public void Dispose()
    {
        Generate?.Dispose();
        Infer?.Dispose();
    }
}
