using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace EdgeRuntime.Service.Options;

/// <summary>Configuration section <c>Model</c>: what to serve.</summary>
/// <remarks>Bound once at start; treat as immutable.</remarks>
public sealed class ModelSourceOptions
{
    /// <summary>The section name.</summary>
    public const string Section = "Model";

    /// <summary>The bundled default when <see cref="Path"/> is empty, relative to the content root (the repository root
    /// when run with <c>dotnet run</c> from there): the sample BASED language model trained on Moby-Dick and State of
    /// the Union addresses (<c>samples/models/based-moby.md</c>), one Q8_0 GGUF file with its tokenizer inside.</summary>
    public const string DefaultPath = "samples/models/based-moby-q8_0.gguf";

    /// <summary><c>Model:Path</c>: checkpoint directory (config.json + *.safetensors) or model file. Default: <see cref="DefaultPath"/>.</summary>
    public string? Path { get; set; }

    /// <summary><c>Model:Tokenizer</c>: tokenizer directory (default: the model directory; none found there = token ids only).</summary>
    public string? Tokenizer { get; set; }

    /// <summary><c>Model:Threads</c>: worker threads of the model's pool (0 = one per core).</summary>
    [Range(0, 1024)]
    public int Threads { get; set; }

    /// <summary><c>Model:PrefillBlock</c>: tokens per prefill chunk.</summary>
    [Range(1, 65536)]
    public int PrefillBlock { get; set; } = 256;
}

/// <summary>Validates <see cref="ModelSourceOptions"/> at start (source-generated).</summary>
[OptionsValidator]
public sealed partial class ModelSourceOptionsValidator : IValidateOptions<ModelSourceOptions>;
