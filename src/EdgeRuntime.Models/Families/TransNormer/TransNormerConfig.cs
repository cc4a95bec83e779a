namespace EdgeRuntime.Models.Families.TransNormer;

/// <summary>STUB: replaced by the family implementation.</summary>
public sealed record TransNormerConfig
{
    /// <summary>Parses config.json.</summary>
    public static TransNormerConfig FromJson(string json, string path) => throw new NotImplementedException("TransNormer config not implemented yet");
}
