using System.Numerics.Tensors;
using EdgeRuntime.Core.Kernels;

namespace EdgeRuntime.Models.Families.TransNormer;

/// <summary>An elementwise activation TransNormerLLM names in its config (<c>linear_act_fun</c>, <c>glu_act</c>).</summary>
public enum TransNormerActivation
{
    /// <summary><c>"none"</c> / <c>"identity"</c>: <c>x</c> (SGLU's gate).</summary>
    None,
    /// <summary><c>"silu"</c> / <c>"swish"</c>: <c>x·σ(x)</c>.</summary>
    Silu,
    /// <summary><c>"relu"</c>: <c>max(x, 0)</c>.</summary>
    Relu,
    /// <summary><c>"gelu"</c>: exact erf GELU (PyTorch <c>F.gelu</c> default).</summary>
    Gelu,
    /// <summary><c>"elu"</c>: <c>x</c> if <c>x &gt; 0</c> else <c>eˣ − 1</c>.</summary>
    Elu,
    /// <summary><c>"1+elu"</c> (also accepted as <c>"elu+1"</c>): <c>1 + elu(x)</c>.</summary>
    OnePlusElu,
    /// <summary><c>"sigmoid"</c>: <c>σ(x)</c>.</summary>
    Sigmoid,
}

/// <summary>Applies a <see cref="TransNormerActivation"/> in place, as HF <c>modeling_transnormer.get_activation_fn</c> defines it.</summary>
/// <remarks>Allocates nothing. Stateless; safe from any thread.</remarks>
internal static class TransNormerActivations
{
    /// <summary>Replaces every element of <paramref name="x"/> by <c>act(x)</c>.</summary>
    public static void Apply(TransNormerActivation act, Span<float> x)
    {
        switch (act)
        {
            case TransNormerActivation.None:
                break;
            case TransNormerActivation.Silu:
                Activations.SiluInPlace(x);
                break;
            case TransNormerActivation.Relu:
                TensorPrimitives.Max(x, 0f, x);
                break;
            case TransNormerActivation.Gelu:
                Activations.Gelu(x, x);
                break;
            case TransNormerActivation.Sigmoid:
                TensorPrimitives.Sigmoid(x, x);
                break;
            case TransNormerActivation.Elu:
                for (int i = 0; i < x.Length; i++) x[i] = x[i] > 0 ? x[i] : float.ExpM1(x[i]);
                break;
            default: // OnePlusElu
                for (int i = 0; i < x.Length; i++) x[i] = x[i] > 0 ? 1f + x[i] : MathF.Exp(x[i]);
                break;
        }
    }
}
