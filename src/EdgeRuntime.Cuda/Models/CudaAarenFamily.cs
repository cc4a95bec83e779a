using System.Globalization;
using EdgeRuntime.Cuda.Runtime;
using EdgeRuntime.Models.Families.Aaren;
using EdgeRuntime.Models.Formats;
using EdgeRuntime.Models.Mechanisms;
using EdgeRuntime.Models.Sessions;

namespace EdgeRuntime.Cuda.Models;

/// <summary>Aaren on the GPU: the weights of <see cref="AarenModel"/> uploaded once and its step as kernels.</summary>
/// <remarks>
/// Feng et al. 2024, "Attention as an RNN", arXiv:2405.13956. Reference: shared/golden/README.md ("Aaren checkpoint
/// layout"); tensor names and the state layout (<c>[m, c, a]</c> per head, m = −∞ initially) are those of
/// Families/Aaren and Mechanisms/AarenAttention. Immutable after loading; shared by batches.
/// </remarks>
internal sealed class CudaAarenFamily : CudaFamily
{
    private readonly AarenConfig _c;
    private readonly DeviceMatrix _inputProj;   // (d, input_dim)
    private readonly Layer[] _layers;
    private readonly ulong _finalWeight, _finalBias;
    private readonly DeviceMatrix _head;        // (output_dim, d)
    private readonly float _eps;
    private readonly CudaActivation _act;

    private sealed record Layer(ulong Norm1Weight, ulong Norm1Bias, ulong Query, DeviceMatrix Key, DeviceMatrix Value, DeviceMatrix Out,
        ulong Norm2Weight, ulong Norm2Bias, DeviceMatrix Fc1, DeviceMatrix Fc2);

    private sealed record Buffers(ulong H, ulong Z, ulong Kv, ulong O, ulong U);

    public CudaAarenFamily(CudaDevice device, WeightSource w, AarenConfig c, CudaWeightType weightType) : base(device, w, weightType)
    {
        _c = c;
        int d = c.HiddenSize, hidden = c.MlpHiddenSize;
        string dHint = $"d_model {d} from config", mlpHint = $"mlp_hidden {hidden}, d_model {d} from config";
        _inputProj = Weights.Matrix(w.Matrix("input_proj.weight", d, c.InputSize, $"d_model {d}, input_dim {c.InputSize} from config"),
            w.Vector("input_proj.bias", d, dHint));
        _layers = new Layer[c.LayerCount];
        for (int i = 0; i < c.LayerCount; i++)
        {
            string p = $"layers.{i}";
            _layers[i] = new Layer(
                Weights.Floats(w.Vector($"{p}.norm1.weight", d, dHint)), Weights.Floats(w.Vector($"{p}.norm1.bias", d, dHint)),
                Weights.Floats(w.Floats($"{p}.attn.query", [c.HeadCount, c.HeadSize], $"n_head {c.HeadCount}, head_dim {c.HeadSize} from config")),
                Weights.Matrix(w.Matrix($"{p}.attn.k_proj.weight", d, d, dHint), w.Vector($"{p}.attn.k_proj.bias", d, dHint)),
                Weights.Matrix(w.Matrix($"{p}.attn.v_proj.weight", d, d, dHint), w.Vector($"{p}.attn.v_proj.bias", d, dHint)),
                Weights.Matrix(w.Matrix($"{p}.attn.out_proj.weight", d, d, dHint), w.Vector($"{p}.attn.out_proj.bias", d, dHint)),
                Weights.Floats(w.Vector($"{p}.norm2.weight", d, dHint)), Weights.Floats(w.Vector($"{p}.norm2.bias", d, dHint)),
                Weights.Matrix(w.Matrix($"{p}.mlp.fc1.weight", hidden, d, mlpHint), w.Vector($"{p}.mlp.fc1.bias", hidden, mlpHint)),
                Weights.Matrix(w.Matrix($"{p}.mlp.fc2.weight", d, hidden, mlpHint), w.Vector($"{p}.mlp.fc2.bias", d, mlpHint)));
        }
        _finalWeight = Weights.Floats(w.Vector("final_norm.weight", d, dHint));
        _finalBias = Weights.Floats(w.Vector("final_norm.bias", d, dHint));
        _head = Weights.Matrix(w.Matrix("head.weight", c.OutputSize, d, $"output_dim {c.OutputSize}, d_model {d} from config"),
            w.Vector("head.bias", c.OutputSize, $"output_dim {c.OutputSize} from config"));
        _eps = (float)c.LayerNormEpsilon;
        _act = c.Activation switch { "relu" => CudaActivation.Relu, "silu" => CudaActivation.Silu, _ => CudaActivation.Gelu };
        LayerStateLength = c.HeadCount * (c.HeadSize + 2);
        StateLength = StatePosition.Length + c.LayerCount * LayerStateLength;
        Info = new ModelInfo("aaren", w.Location,
        [
            new("d_model", d.ToString(CultureInfo.InvariantCulture)),
            new("n_layer", c.LayerCount.ToString(CultureInfo.InvariantCulture)),
            new("n_head", c.HeadCount.ToString(CultureInfo.InvariantCulture)),
            new("device", device.Description),
        ], w.ParameterCount, w.WeightBytes, StateLength * 4L);
    }

    public override ModelInfo Info { get; }

    public override int StateLength { get; }

    private int LayerStateLength { get; }

    public override int InputLength => _c.InputSize;

    public override int OutputLength => _c.OutputSize;

    public override void InitState(Span<float> state)
    {
        state.Clear();
        StatePosition.Set(state, 0, 0);
        for (int l = 0; l < _c.LayerCount; l++)
            for (int h = 0; h < _c.HeadCount; h++)
                state[StatePosition.Length + l * LayerStateLength + h * (_c.HeadSize + 2) + AarenAttention.MaxOffset] = float.NegativeInfinity;
    }

    public override object CreateBuffers(CudaWorkspace ws)
    {
        int b = ws.Size, d = _c.HiddenSize;
        return new Buffers(ws.Alloc((long)b * d), ws.Alloc((long)b * d), ws.Alloc((long)b * 2 * d), ws.Alloc((long)b * d),
            ws.Alloc((long)b * _c.MlpHiddenSize));
    }

    public override void Record(StepRecorder r, bool head)
    {
        var ws = r.Workspace;
        var buf = (Buffers)ws.FamilyBuffers!;
        int d = _c.HiddenSize, hidden = _c.MlpHiddenSize, hd = _c.HeadSize;

        // 1. h = input_proj(x).
        r.Linear(_inputProj, ws.Inputs, _c.InputSize, buf.H, d);
        for (int l = 0; l < _layers.Length; l++)
        {
            var L = _layers[l];
            // 2. h += out_proj(Aaren(k_proj(z), v_proj(z))), z = norm1(h).
            r.LayerNorm(buf.H, d, L.Norm1Weight, L.Norm1Bias, _eps, buf.Z, d, d);
            r.Linear(L.Key, buf.Z, d, buf.Kv, 2 * d);
            r.Linear(L.Value, buf.Z, d, buf.Kv + (ulong)d * 4, 2 * d);
            r.Add("aaren_step", (uint)_c.HeadCount, (uint)r.Tokens, StepRecorder.ThreadsFor(hd), 0,
                Arg.P(buf.Kv), Arg.I(2 * d), Arg.I(d), Arg.P(L.Query), Arg.I(hd), Arg.P(ws.States), Arg.I(ws.StateStride),
                Arg.I(StatePosition.Length + l * LayerStateLength), Arg.P(buf.O), Arg.I(d));
            r.Linear(L.Out, buf.O, d, buf.H, d, accumulate: true);
            // 3. h += fc2(act(fc1(norm2(h)))).
            r.LayerNorm(buf.H, d, L.Norm2Weight, L.Norm2Bias, _eps, buf.Z, d, d);
            r.Linear(L.Fc1, buf.Z, d, buf.U, hidden);
            r.Activation(_act, buf.U, hidden, hidden);
            r.Linear(L.Fc2, buf.U, hidden, buf.H, d, accumulate: true);
        }

        // 4. y = head(final_norm(h)).
        if (head)
        {
            r.LayerNorm(buf.H, d, _finalWeight, _finalBias, _eps, buf.Z, d, d);
            r.Linear(_head, buf.Z, d, ws.Outputs, OutputLength);
        }
        r.AdvancePosition();
    }
}
