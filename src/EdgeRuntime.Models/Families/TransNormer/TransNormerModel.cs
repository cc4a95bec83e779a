using EdgeRuntime.Models.Formats;
using EdgeRuntime.Models.Sessions;

namespace EdgeRuntime.Models.Families.TransNormer;

/// <summary>STUB: replaced by the family implementation.</summary>
public static class TransNormerModel
{
    /// <summary>Loads the model; takes ownership of <paramref name="weights"/>.</summary>
    public static ILanguageModel Load(WeightSource weights, TransNormerConfig config, ModelOptions options) => throw new NotImplementedException("TransNormer not implemented yet");
}
