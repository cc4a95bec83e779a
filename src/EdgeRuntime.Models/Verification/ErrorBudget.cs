using System.Globalization;
using EdgeRuntime.Models.Formats;
using EdgeRuntime.Models.Formats.Gguf;

namespace EdgeRuntime.Models.Verification;

/// <summary>The bounds a golden check must meet for one weight type (and family): exact f32 reproduction, or the
/// measured error budget of a lossy type.</summary>
/// <param name="Type">Weight type the budget is for: <c>f32</c>, <c>f16</c>, <c>q8_0</c> or <c>q4_0</c>.</param>
/// <param name="Family">Family whose row of the table applies, or <c>null</c> for the all-family default.</param>
/// <param name="MaxRelError">Bound on max |runtime − golden| / max |golden|, or <c>null</c> when not checked.</param>
/// <param name="RelRms">Bound on RMS(runtime − golden) / RMS(golden), or <c>null</c> when not checked.</param>
/// <param name="Top1Agreement">Least share of positions whose argmax must match, or <c>null</c> when not checked.</param>
/// <param name="RequireEqualTokens">Whether greedy generation must pick the golden token at every step (f32 only; a
/// lossy type reports the first divergence instead).</param>
/// <remarks>Values and reasoning: <c>docs/formats.md</c> "Error budgets". Immutable; safe to share between threads.</remarks>
public sealed record ErrorBudget(string Type, string? Family, double? MaxRelError, double? RelRms, double? Top1Agreement, bool RequireEqualTokens)
{
    /// <summary>Whether this is the exact (f32) budget.</summary>
    public bool IsExact => RequireEqualTokens;

    /// <summary>The bound reported as a check's tolerance: <see cref="MaxRelError"/> for exact budgets, else <see cref="RelRms"/>.</summary>
    public double PrimaryBound => MaxRelError ?? RelRms ?? double.PositiveInfinity;

    /// <summary>One line for reports, e.g. <c>q8_0 (based): relRms ≤ 0.05, top-1 ≥ 0.92; greedy tokens may diverge</c>.</summary>
    public string Describe()
    {
        var parts = new List<string>();
        if (MaxRelError is double m) parts.Add(string.Create(CultureInfo.InvariantCulture, $"maxRel <= {m:G3}"));
        if (RelRms is double r) parts.Add(string.Create(CultureInfo.InvariantCulture, $"relRms <= {r:G3}"));
        if (Top1Agreement is double t) parts.Add(string.Create(CultureInfo.InvariantCulture, $"top-1 >= {t:G3}"));
        string family = Family is null ? "" : $" ({Family})";
        return $"{Type}{family}: {string.Join(", ", parts)}; greedy tokens {(RequireEqualTokens ? "must be equal" : "may diverge (first divergence reported)")}";
    }
}

/// <summary>The error budgets of every weight type, measured on the shared goldens (<c>docs/formats.md</c> "Error budgets").</summary>
/// <remarks>
/// f32 must reproduce the golden (max relative error ≤ 1e-4, greedy tokens equal). f16, q8_0 and q4_0 are lossy: a check
/// passes when <c>relRms ≤ budget.RelRms</c> and <c>top1Agreement ≥ budget.Top1Agreement</c>. Each bound is the largest
/// relRms (smallest top-1) measured over every check of that family's golden, given about 1.5× headroom and rounded; the
/// default row (a family without a row, e.g. a future one) is the loosest family. Stateless; safe from any thread.
/// </remarks>
public static class ErrorBudgets
{
    /// <summary>The weight types with a budget, in order of precision.</summary>
    public static IReadOnlyList<string> Types { get; } = ["f32", "f16", "q8_0", "q4_0"];

    /// <summary>The table of lossy budgets: (type, family or null for the default, relRms bound, top-1 bound).</summary>
    /// <remarks>Measured values (max relRms / min top-1 over all checks of the golden; x64 AVX2, 1 and 2 threads):
    /// f16 based 9.6e-4/0.995, transnormer 1.48e-3/0.9967, aaren 3.95e-4/1.0; q8_0 based 2.70e-2/0.960,
    /// transnormer 3.76e-2/0.952, aaren 1.07e-2/0.993; q4_0 based 0.319/0.420, transnormer 0.477/0.275, aaren 0.0596/0.987.</remarks>
    public static IReadOnlyList<(string Type, string? Family, double RelRms, double Top1)> Table { get; } =
    [
        ("f16", "based", 2e-3, 0.98),
        ("f16", "transnormer", 3e-3, 0.98),
        ("f16", "aaren", 1e-3, 0.98),
        ("f16", null, 3e-3, 0.98),
        ("q8_0", "based", 0.05, 0.92),
        ("q8_0", "transnormer", 0.06, 0.90),
        ("q8_0", "aaren", 0.02, 0.97),
        ("q8_0", null, 0.06, 0.90),
        ("q4_0", "based", 0.5, 0.30),
        ("q4_0", "transnormer", 0.65, 0.20),
        ("q4_0", "aaren", 0.1, 0.95),
        ("q4_0", null, 0.65, 0.20),
    ];

    /// <summary>The exact f32 budget with the given max relative error (default: the goldens' 1e-4).</summary>
    public static ErrorBudget F32(double tolerance = GoldenVerifier.DefaultTolerance) =>
        new("f32", null, tolerance, null, null, RequireEqualTokens: true);

    /// <summary>The budget of <paramref name="type"/> for <paramref name="family"/> (its own row, else the default row).</summary>
    /// <param name="type"><c>f32</c>, <c>f16</c>, <c>q8_0</c> or <c>q4_0</c>.</param>
    /// <param name="family">Model family (<c>ModelInfo.Family</c>), or null for the default row.</param>
    /// <param name="f32Tolerance">Max relative error of the f32 budget.</param>
    /// <exception cref="ArgumentException">Unknown type.</exception>
    public static ErrorBudget For(string type, string? family, double f32Tolerance = GoldenVerifier.DefaultTolerance)
    {
        if (type == "f32") return F32(f32Tolerance);
        (string Type, string? Family, double RelRms, double Top1)? fallback = null;
        foreach (var row in Table)
        {
            if (row.Type != type) continue;
            if (row.Family is not null && row.Family == family) return new(type, family, null, row.RelRms, row.Top1, RequireEqualTokens: false);
            if (row.Family is null) fallback = row;
        }
        if (fallback is { } d) return new(type, null, null, d.RelRms, d.Top1, RequireEqualTokens: false);
        throw new ArgumentException($"verify: no error budget for type '{type}', expected one of {string.Join(", ", Types)}", nameof(type));
    }

    /// <summary>The weight type of the model at <paramref name="modelPath"/> for <c>--budget auto</c>: a GGUF file's
    /// <c>general.file_type</c> (0 f32, 1 f16, 7 q8_0, 2 q4_0); a checkpoint directory is <c>f32</c>.</summary>
    /// <exception cref="ModelConfigException">A GGUF file without a usable <c>general.file_type</c>.</exception>
    /// <exception cref="ModelFormatException">A malformed GGUF file.</exception>
    public static string TypeOf(string modelPath)
    {
        if (!File.Exists(modelPath) || !GgufReader.HasMagic(modelPath)) return "f32";
        using var reader = new GgufReader(modelPath);
        var value = reader.Metadata.Find("general.file_type");
        if (value is null)
            throw new ModelConfigException($"verify: '{reader.Path}' has no 'general.file_type'; pass --budget f32|f16|q8_0|q4_0");
        long fileType = reader.Metadata.GetInteger("general.file_type");
        return fileType switch
        {
            (long)GgufFileType.AllF32 => "f32",
            (long)GgufFileType.MostlyF16 => "f16",
            (long)GgufFileType.MostlyQ8_0 => "q8_0",
            (long)GgufFileType.MostlyQ4_0 => "q4_0",
            _ => throw new ModelConfigException(
                $"verify: 'general.file_type' of '{reader.Path}' is {fileType}, which has no error budget (0 f32, 1 f16, 7 q8_0, 2 q4_0); pass --budget"),
        };
    }
}
