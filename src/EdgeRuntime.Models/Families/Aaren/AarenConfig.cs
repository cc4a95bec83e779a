namespace EdgeRuntime.Models.Families.Aaren;

/// <summary>STUB: replaced by the family implementation.</summary>
public sealed record AarenConfig
{
    /// <summary>Parses config.json.</summary>
    public static AarenConfig FromJson(string json, string path) => throw new NotImplementedException("Aaren config not implemented yet");
}
