using EdgeRuntime.Models.Formats;
using EdgeRuntime.Models.Sessions;

namespace EdgeRuntime.Models.Families.Based;

/// <summary>STUB: replaced by the family implementation.</summary>
public static class BasedModel
{
    /// <summary>Loads the model; takes ownership of <paramref name="weights"/>.</summary>
    public static ILanguageModel Load(WeightSource weights, BasedConfig config, ModelOptions options) => throw new NotImplementedException("Based not implemented yet");
}
