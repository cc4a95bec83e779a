using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace EdgeRuntime.Service.Options;

/// <summary>Configuration section <c>Sessions</c>: where named sessions persist.</summary>
/// <remarks>Bound once at start; treat as immutable.</remarks>
public sealed class SessionsOptions : IValidatableObject
{
    /// <summary>The section name.</summary>
    public const string Section = "Sessions";

    /// <summary><c>Sessions:Directory</c>: snapshot directory. Default: <c>$STATE_DIRECTORY/sessions</c> under systemd, else
    /// <c>$XDG_STATE_HOME/edge-runtime/sessions</c> (<c>~/.local/state/edge-runtime/sessions</c>).</summary>
    public string? Directory { get; set; }

    /// <summary><c>Sessions:Persist</c>: write a snapshot after each request of a named session. Default true.</summary>
    public bool Persist { get; set; } = true;

    /// <summary>The directory in effect.</summary>
    public string EffectiveDirectory
    {
        get
        {
            if (!string.IsNullOrEmpty(Directory)) return System.IO.Path.GetFullPath(Directory);
            // systemd's StateDirectory= may list several, separated by ':'.
            string? state = Environment.GetEnvironmentVariable("STATE_DIRECTORY");
            if (!string.IsNullOrEmpty(state)) return System.IO.Path.Combine(state.Split(':')[0], "sessions");
            string? xdg = Environment.GetEnvironmentVariable("XDG_STATE_HOME");
            string root = !string.IsNullOrEmpty(xdg) ? xdg
                : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state");
            return System.IO.Path.Combine(root, "edge-runtime", "sessions");
        }
    }

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        string directory = EffectiveDirectory;
        if (File.Exists(directory))
            yield return new ValidationResult($"Sessions:Directory '{directory}' is a file, expected a directory", [nameof(Directory)]);
    }
}

/// <summary>Validates <see cref="SessionsOptions"/> at start (source-generated).</summary>
[OptionsValidator]
public sealed partial class SessionsOptionsValidator : IValidateOptions<SessionsOptions>;
