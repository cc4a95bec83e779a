using EdgeRuntime.Core.Kernels;
using EdgeRuntime.Models.Formats;

namespace EdgeRuntime.Models.Families.Based;

/// <summary>The norm of a BASED block or <c>ln_f</c>: RMSNorm (weight only) when <c>rms_norm</c>, else LayerNorm (weight and bias).</summary>
/// <remarks>
/// Reference: HazyResearch/based@32c1bd4 based/models/gpt.py <c>create_block</c> (<c>nn.LayerNorm</c> or
/// based/ops/triton/layer_norm.py <c>RMSNorm</c>, which has no bias). Immutable; safe to share.
/// </remarks>
internal sealed class BasedNorm
{
    private readonly float[] _weight;  // (hidden)
    private readonly float[] _bias;    // (hidden) for LayerNorm, empty for RMSNorm
    private readonly float _eps;

    private BasedNorm(float[] weight, float[] bias, float eps)
    {
        _weight = weight;
        _bias = bias;
        _eps = eps;
    }

    /// <summary>Loads <c>{prefix}.weight</c> (and <c>{prefix}.bias</c> for LayerNorm).</summary>
    public static BasedNorm Load(WeightSource weights, string prefix, BasedConfig config)
    {
        string hint = $"n_embd {config.HiddenSize}, rms_norm {(config.RmsNorm ? "true" : "false")} from config";
        var w = weights.Vector($"{prefix}.weight", config.HiddenSize, hint);
        var b = weights.OptionalVector($"{prefix}.bias", config.HiddenSize, !config.RmsNorm, hint + " (RMSNorm has no bias)");
        return new BasedNorm(w, b, (float)config.NormEpsilon);
    }

    /// <summary>Normalises each of <paramref name="tokens"/> rows of <paramref name="x"/> into <paramref name="destination"/>.</summary>
    public void Forward(ReadOnlySpan<float> x, int tokens, Span<float> destination)
    {
        int d = _weight.Length;
        for (int t = 0; t < tokens; t++)
        {
            var row = x.Slice(t * d, d);
            var dst = destination.Slice(t * d, d);
            if (_bias.Length == 0) RmsNorm.Forward(row, _weight, _eps, dst);
            else LayerNorm.Forward(row, _weight, _bias, _eps, dst);
        }
    }
}
