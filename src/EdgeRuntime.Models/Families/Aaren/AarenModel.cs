using EdgeRuntime.Models.Formats;
using EdgeRuntime.Models.Sessions;

namespace EdgeRuntime.Models.Families.Aaren;

/// <summary>STUB: replaced by the family implementation.</summary>
public static class AarenModel
{
    /// <summary>Loads the model; takes ownership of <paramref name="weights"/>.</summary>
    public static ISequenceModel Load(WeightSource weights, AarenConfig config, ModelOptions options) => throw new NotImplementedException("Aaren not implemented yet");
}
