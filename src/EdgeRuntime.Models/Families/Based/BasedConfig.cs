namespace EdgeRuntime.Models.Families.Based;

/// <summary>STUB: replaced by the family implementation.</summary>
public sealed record BasedConfig
{
    /// <summary>Parses config.json.</summary>
    public static BasedConfig FromJson(string json, string path) => throw new NotImplementedException("Based config not implemented yet");
}
