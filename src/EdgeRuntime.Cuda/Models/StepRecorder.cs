using EdgeRuntime.Core.Tensors;
using EdgeRuntime.Cuda.Runtime;

namespace EdgeRuntime.Cuda.Models;

/// <summary>The activation ids of Kernels/elementwise.cu.</summary>
internal enum CudaActivation
{
    None = 0, Silu = 1, Relu = 2, Gelu = 3, GeluTanh = 4, Sigmoid = 5, Elu = 6, OnePlusElu = 7, SquaredRelu = 8,
}

/// <summary>Builds the kernel launches of one decode step for a batch (the list a CUDA graph captures).</summary>
/// <remarks>Each helper checks its shapes once and chooses the kernel variant; kernels trust their arguments (ggml's split
/// between graph building and ops). Used on one thread while a batch is built.</remarks>
internal sealed class StepRecorder(CudaDevice device, CudaWorkspace workspace)
{
    private const uint RowBlock = 128;   // 4 warps: one warp per R rows in the mat-vec kernels

    public List<KernelOp> Ops { get; } = [];

    public CudaWorkspace Workspace => workspace;

    public int Tokens => workspace.Size;

    public void Add(string kernel, uint gridX, uint gridY, uint block, uint sharedBytes, params ulong[] args) =>
        Ops.Add(new KernelOp(kernel, device.Function(kernel), gridX, gridY, block, sharedBytes, args));

    /// <summary><c>Y[t] = (accumulate ? Y[t] : 0) + W·X[t] + b</c> for every token of the batch.</summary>
    public void Linear(DeviceMatrix w, ulong x, int ldx, ulong y, int ldy, bool accumulate = false)
    {
        int tokens = Tokens;
        // (4, 16) tiles were tried for larger batches and measured slower on the H100 (168 registers); see docs/benchmarks-gpu.md.
        var (r, nt) = tokens switch { 1 => (1, 1), 2 => (1, 2), <= 4 => (1, 4), _ => (4, 8) };
        uint gx = (uint)((tokens + nt - 1) / nt), gy = (uint)((w.Rows + 4 * r - 1) / (4 * r));
        if (gy > 65535) throw new NotSupportedException($"cuda: matrix '{w.Name}' has {w.Rows} rows, more than this kernel's grid allows");
        string shape = $"r{r}_t{nt}";
        if (w.Quantized)
        {
            if (w.Cols > workspace.QuantizedCols) throw new InvalidOperationException($"cuda: workspace sized for {workspace.QuantizedCols} quantized columns, '{w.Name}' has {w.Cols}");
            int blocks = w.Cols / 32 * tokens;
            Add("quantize_q8_0", (uint)((blocks + 7) / 8), 1, 256, 0,
                Arg.P(x), Arg.I(ldx), Arg.I(w.Cols), Arg.I(tokens), Arg.P(workspace.QuantizedValues), Arg.P(workspace.QuantizedScales));
            string kernel = (w.Type == DType.Q8_0 ? "mv_q8_0_" : "mv_q4_0_") + shape;
            Add(kernel, gx, gy, RowBlock, 0, Arg.P(w.Pointer), Arg.P(w.Bias), Arg.P(workspace.QuantizedValues), Arg.P(workspace.QuantizedScales),
                Arg.P(y), Arg.I(w.Rows), Arg.I(w.Cols), Arg.I(ldy), Arg.I(tokens), Arg.I(accumulate ? 1 : 0));
        }
        else
        {
            int chunk = w.Type == DType.F16 ? 8 : 4;
            bool vec = w.Cols % chunk == 0 && ldx % 4 == 0 && x % 16 == 0;
            string kernel = (w.Type == DType.F16 ? "mv_f16_" : "mv_f32_") + (vec ? "v_" : "s_") + shape;
            Add(kernel, gx, gy, RowBlock, 0, Arg.P(w.Pointer), Arg.P(w.Bias), Arg.P(x), Arg.P(y),
                Arg.I(w.Rows), Arg.I(w.Cols), Arg.I(ldx), Arg.I(ldy), Arg.I(tokens), Arg.I(accumulate ? 1 : 0));
        }
    }

    /// <summary>RMSNorm (weight) or SimpleRMSNorm (weight 0) of <paramref name="n"/> values per token.</summary>
    public void RmsNorm(ulong x, int ldx, ulong weight, float eps, ulong y, int ldy, int n) =>
        Add("rms_norm", (uint)Tokens, 1, 256, 0, Arg.P(x), Arg.I(ldx), Arg.P(weight), Arg.F(eps), Arg.P(y), Arg.I(ldy), Arg.I(n));

    /// <summary>LayerNorm with weight and bias.</summary>
    public void LayerNorm(ulong x, int ldx, ulong weight, ulong bias, float eps, ulong y, int ldy, int n) =>
        Add("layer_norm", (uint)Tokens, 1, 256, 0, Arg.P(x), Arg.I(ldx), Arg.P(weight), Arg.P(bias), Arg.F(eps), Arg.P(y), Arg.I(ldy), Arg.I(n));

    /// <summary>In-place activation of the first <paramref name="n"/> values of each row.</summary>
    public void Activation(CudaActivation kind, ulong x, int ldx, int n)
    {
        if (kind == CudaActivation.None) return;
        Add("activation", (uint)Tokens, 1, 256, 0, Arg.I((int)kind), Arg.P(x), Arg.I(ldx), Arg.I(n));
    }

    /// <summary><c>out = a ⊙ act(g)</c> with a and g at column offsets of each input row.</summary>
    public void Gated(CudaActivation kind, ulong input, int ldi, int aOffset, int gOffset, ulong output, int ldo, int n) =>
        Add("gated", (uint)Tokens, 1, 256, 0, Arg.I((int)kind), Arg.P(input), Arg.I(ldi), Arg.I(aOffset), Arg.I(gOffset), Arg.P(output), Arg.I(ldo), Arg.I(n));

    /// <summary>Embedding rows of the batch's tokens (times <paramref name="scale"/>, plus learned positions when given).</summary>
    public void Embed(DeviceMatrix table, float scale, DeviceMatrix? positions, ulong output, int ldo) =>
        Add("embed", (uint)Tokens, 1, 256, 0, Arg.P(table.Pointer), Arg.I((int)table.Type), Arg.I(table.Rows), Arg.I(table.Cols),
            Arg.P(workspace.Tokens), Arg.F(scale), Arg.P(positions?.Pointer ?? 0), Arg.I((int)(positions?.Type ?? DType.F32)),
            Arg.I(positions?.Rows ?? 0), Arg.P(workspace.States), Arg.I(workspace.StateStride), Arg.P(output), Arg.I(ldo));

    /// <summary>Every session's position += 1.</summary>
    public void AdvancePosition() =>
        Add("advance_position", (uint)((Tokens + 255) / 256), 1, 256, 0, Arg.P(workspace.States), Arg.I(workspace.StateStride), Arg.I(Tokens));

    /// <summary>Threads per block for per-head kernels: a multiple of 32 covering <paramref name="n"/>, 32..1024.</summary>
    public static uint ThreadsFor(int n) => (uint)Math.Clamp((n + 31) / 32 * 32, 32, 1024);
}
