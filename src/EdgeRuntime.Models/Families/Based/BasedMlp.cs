using System.Numerics.Tensors;
using EdgeRuntime.Core.Kernels;
using EdgeRuntime.Core.Tensors;
using EdgeRuntime.Core.Threading;
using EdgeRuntime.Models.Formats;

namespace EdgeRuntime.Models.Families.Based;

/// <summary>The MLP of a BASED block: flash-attn's GatedMlp for <c>glu</c>/<c>swiglu</c>/<c>geglu</c>, else the plain two-layer Mlp.</summary>
/// <remarks>
/// Reference: HazyResearch/based@32c1bd4 based/models/mlp.py (<c>GatedMlp</c>, mlp_type 'base'; <c>Mlp</c>) and
/// based/models/gpt.py <c>create_mlp_cls</c>.
/// Gated: <c>y = fc1(x); a, g = y[:hidden], y[hidden:]; out = fc2(a ⊙ act(g))</c> with act = sigmoid (glu), silu
/// (swiglu) or exact GELU (geglu). Plain: <c>out = fc2(act(fc1(x)))</c> with exact GELU (gelu), tanh GELU
/// (gelu_new, gelu_fast, gelu_approx, gelu_pytorch_tanh), ReLU (relu) or squared ReLU (sqrelu).
/// Immutable; safe to share.
/// </remarks>
internal sealed class BasedMlp
{
    private enum Act { Sigmoid, Silu, Gelu, GeluTanh, Relu, SquaredRelu }

    private readonly WeightMatrix _fc1;  // (gated ? 2·hidden : hidden, d)
    private readonly float[] _fc1Bias;   // empty or fc1 rows
    private readonly WeightMatrix _fc2;  // (d, hidden)
    private readonly float[] _fc2Bias;   // empty or d
    private readonly bool _gated;
    private readonly Act _act;

    private BasedMlp(WeightMatrix fc1, float[] fc1Bias, WeightMatrix fc2, float[] fc2Bias, bool gated, Act act)
    {
        _fc1 = fc1;
        _fc1Bias = fc1Bias;
        _fc2 = fc2;
        _fc2Bias = fc2Bias;
        _gated = gated;
        _act = act;
    }

    /// <summary>Hidden width (after GatedMlp's rounding).</summary>
    public int HiddenSize => _fc2.Cols;

    /// <summary>Loads <c>{prefix}.fc1</c> and <c>{prefix}.fc2</c>.</summary>
    public static BasedMlp Load(WeightSource weights, string prefix, BasedConfig config)
    {
        int d = config.HiddenSize, hidden = config.MlpHiddenSize, rows = config.MlpGated ? 2 * hidden : hidden;
        string hint = $"n_embd {d}, n_inner {config.InnerSize?.ToString() ?? "null"} -> hidden {hidden}, activation {config.Activation} from config";
        var fc1 = weights.Matrix($"{prefix}.fc1.weight", rows, d, hint);
        var b1 = weights.OptionalVector($"{prefix}.fc1.bias", rows, config.MlpFc1Bias, hint);
        var fc2 = weights.Matrix($"{prefix}.fc2.weight", d, hidden, hint);
        var b2 = weights.OptionalVector($"{prefix}.fc2.bias", d, config.MlpFc2Bias, hint);
        var act = config.Activation switch
        {
            "glu" => Act.Sigmoid,
            "swiglu" => Act.Silu,
            "geglu" or "gelu" => Act.Gelu,
            "relu" => Act.Relu,
            "sqrelu" => Act.SquaredRelu,
            _ => Act.GeluTanh,  // gelu_new, gelu_fast, gelu_approx, gelu_pytorch_tanh (the config checked the name)
        };
        return new BasedMlp(fc1, b1, fc2, b2, config.MlpGated, act);
    }

    /// <summary>Floats of scratch for <paramref name="tokens"/> tokens.</summary>
    public int ScratchLength(int tokens) => tokens * (_fc1.Rows + (_gated ? HiddenSize : 0));

    /// <summary>Computes the MLP of <paramref name="tokens"/> rows of <paramref name="x"/> into <paramref name="y"/>.</summary>
    public void Forward(WorkerPool pool, ReadOnlySpan<float> x, int tokens, Span<float> y, Span<float> scratch)
    {
        int hidden = HiddenSize, rows = _fc1.Rows;
        var up = scratch[..(tokens * rows)];
        Linear.Forward(pool, _fc1, _fc1Bias, x, up, tokens);
        if (_gated)
        {
            var inner = scratch.Slice(tokens * rows, tokens * hidden);
            for (int t = 0; t < tokens; t++)
            {
                var a = up.Slice(t * rows, hidden);
                var g = up.Slice(t * rows + hidden, hidden);
                var dst = inner.Slice(t * hidden, hidden);
                if (_act == Act.Silu)
                {
                    Activations.SwiGlu(a, g, dst);
                    continue;
                }
                Apply(g, dst);
                TensorPrimitives.Multiply(dst, a, dst);
            }
            Linear.Forward(pool, _fc2, _fc2Bias, inner, y, tokens);
        }
        else
        {
            Apply(up, up);
            Linear.Forward(pool, _fc2, _fc2Bias, up, y, tokens);
        }
    }

    private void Apply(ReadOnlySpan<float> x, Span<float> dst)
    {
        switch (_act)
        {
            case Act.Sigmoid: TensorPrimitives.Sigmoid(x, dst); break;
            case Act.Silu: Activations.Silu(x, dst); break;
            case Act.Gelu: Activations.Gelu(x, dst); break;
            case Act.Relu: TensorPrimitives.Max(x, 0f, dst); break;
            case Act.SquaredRelu:
                TensorPrimitives.Max(x, 0f, dst);
                TensorPrimitives.Multiply(dst, dst, dst);
                break;
            default:
                // tanh approximation: ½x(1 + tanh(√(2/π)(x + 0.044715x³))).
                for (int i = 0; i < x.Length; i++)
                {
                    float v = x[i];
                    dst[i] = 0.5f * v * (1f + MathF.Tanh(0.7978845608028654f * (v + 0.044715f * v * v * v)));
                }
                break;
        }
    }
}
