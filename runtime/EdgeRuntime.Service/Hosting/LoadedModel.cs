using System.Globalization;
using EdgeRuntime.Messaging.Protocol;
using EdgeRuntime.Models.Sessions;
using EdgeRuntime.Models.Tokenizers;
using EdgeRuntime.Service.Options;

namespace EdgeRuntime.Service.Hosting;

/// <summary>One model being served, with its tokenizer (if any), fingerprint and the configuration section it came from.</summary>
/// <remarks>Immutable after loading; the model may be shared by all workers (one session per worker).</remarks>
public sealed class LoadedModel : IDisposable
{
    /// <summary>Wraps a loaded model.</summary>
    /// <param name="model">The model (owned: disposed with this).</param>
    /// <param name="tokenizer">Its tokenizer, or null.</param>
    /// <param name="fingerprint">The model files' fingerprint.</param>
    /// <param name="path">Where it was loaded from (full path).</param>
    /// <param name="section">The configuration section that named it: <c>Model</c> (default) or <c>InferModel</c>.</param>
    public LoadedModel(IModel model, ITextTokenizer? tokenizer, byte[] fingerprint, string path, string section = ModelSourceOptions.Section)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(fingerprint);
        Model = model;
        Tokenizer = tokenizer;
        Fingerprint = fingerprint;
        Path = path;
        Section = section;
        Language = model as ILanguageModel;
        Sequence = model as ISequenceModel;
        SnapshotIdentity = new SnapshotIdentity(fingerprint, model.Info.Family, model.Info.Dimensions, model.StateLength, Language?.LogitsLength ?? 0);
    }

    /// <summary>The model.</summary>
    public IModel Model { get; }

    /// <summary>The model as a language model (generate), or null.</summary>
    public ILanguageModel? Language { get; }

    /// <summary>The model as a sequence model (infer), or null.</summary>
    public ISequenceModel? Sequence { get; }

    /// <summary>The tokenizer, or null (requests must send token ids).</summary>
    public ITextTokenizer? Tokenizer { get; }

    /// <summary>The model files' fingerprint.</summary>
    public byte[] Fingerprint { get; }

    /// <summary>Where it was loaded from (full path).</summary>
    public string Path { get; }

    /// <summary>The configuration section that named it: <c>Model</c> or <c>InferModel</c>.</summary>
    public string Section { get; }

    /// <summary>"language" (served on generate) or "sequence" (served on infer).</summary>
    public string Kind => Language is not null ? "language" : "sequence";

    /// <summary>What session snapshots must match.</summary>
    public SnapshotIdentity SnapshotIdentity { get; }

    /// <summary>The model part of the birth message.</summary>
    public StatusModel ToStatus() => new()
    {
        Family = Model.Info.Family,
        Kind = Kind,
        Fingerprint = ModelFingerprint.ToHex(Fingerprint),
        Dimensions = Model.Info.Dimensions.ToDictionary(d => d.Key, d => d.Value),
        ParameterCount = Model.Info.ParameterCount,
        StateBytes = Model.Info.StateBytes,
        VocabSize = Language?.VocabSize,
        Tokenizer = Language is null ? null : Tokenizer?.Description,
        InputLength = Sequence?.InputLength,
        OutputLength = Sequence?.OutputLength,
    };

    /// <summary>One line for logs and systemd status.</summary>
    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"{Model.Info.Family} {Kind} model from '{Path}' ({Model.Info.ParameterCount} parameters, {Model.Info.StateBytes} state bytes per session; {(Sequence is { } s ? $"{s.InputLength} inputs and {s.OutputLength} outputs per step" : $"tokenizer: {Tokenizer?.Description ?? "none, token ids only"}")})");

    /// <inheritdoc />
    public void Dispose() => Model.Dispose();
}
