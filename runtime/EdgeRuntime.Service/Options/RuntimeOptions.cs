using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace EdgeRuntime.Service.Options;

/// <summary>Configuration section <c>Runtime</c>: where the model runs.</summary>
/// <remarks>Bound once at start; treat as immutable.</remarks>
public sealed class RuntimeOptions
{
    /// <summary>The section name.</summary>
    public const string Section = "Runtime";

    /// <summary><c>Runtime:Device</c>: <c>cpu</c> (default), <c>cuda</c> (an NVIDIA GPU; the service fails to start
    /// without one) or <c>auto</c> (CUDA when a driver and a device are found, else the CPU with one log line).</summary>
    [Required]
    [RegularExpression("^(cpu|cuda|auto)$", ErrorMessage = "Runtime:Device must be cpu, cuda or auto")]
    public string Device { get; set; } = "cpu";
}

/// <summary>Validates <see cref="RuntimeOptions"/> at start (source-generated).</summary>
[OptionsValidator]
public sealed partial class RuntimeOptionsValidator : IValidateOptions<RuntimeOptions>;
