using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace EdgeRuntime.Service.Options;

/// <summary>Configuration section <c>InferModel</c>: a sequence model (Aaren) served on <c>infer</c> beside the language
/// model of <c>Model</c>, in the same process.</summary>
/// <remarks>
/// With no <see cref="Path"/> the bundled sample forecaster is served when it exists (<see cref="DefaultPath"/>, relative
/// to the content root like <see cref="ModelSourceOptions.DefaultPath"/>); when it does not (an installed bundle that
/// ships only the language model), one log line says so and only <c>Model</c> is served. A configured path that does not
/// exist stops the service. When <c>Model</c> is itself a sequence model it serves <c>infer</c> and this section must not
/// name another. Bound once at start; treat as immutable.
/// </remarks>
public sealed class InferModelOptions
{
    /// <summary>The section name.</summary>
    public const string Section = "InferModel";

    /// <summary>The bundled default when <see cref="Path"/> is empty, relative to the content root: the sample Aaren
    /// forecaster of sensor-mote humidity and temperature (<c>samples/models/aaren-motes.md</c>).</summary>
    public const string DefaultPath = "samples/models/aaren-motes.gguf";

    /// <summary><c>InferModel:Enabled</c>: serve a second model on <c>infer</c>. Default true (false: <c>Model</c> only).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary><c>InferModel:Path</c>: checkpoint directory or model file of a sequence model. Default: <see cref="DefaultPath"/> if it exists.</summary>
    public string? Path { get; set; }

    /// <summary><c>InferModel:Threads</c>: worker threads of this model's pool (0 = one per core). Default 1: the sample
    /// forecaster (d_model 64) is too small to gain from more.</summary>
    [Range(0, 1024)]
    public int Threads { get; set; } = 1;

    /// <summary><c>InferModel:PrefillBlock</c>: steps per parallel scan chunk.</summary>
    [Range(1, 65536)]
    public int PrefillBlock { get; set; } = 256;
}

/// <summary>Validates <see cref="InferModelOptions"/> at start (source-generated).</summary>
[OptionsValidator]
public sealed partial class InferModelOptionsValidator : IValidateOptions<InferModelOptions>;
