using EdgeRuntime.Core.Quant;
using EdgeRuntime.Core.Tensors;
using EdgeRuntime.Cuda.Models;
using EdgeRuntime.Cuda.Runtime;

namespace EdgeRuntime.Cuda.Diagnostics;

/// <summary>One linear-layer kernel checked against a double-precision reference.</summary>
/// <param name="Type">Weight type.</param>
/// <param name="Rows">Rows.</param>
/// <param name="Cols">Columns.</param>
/// <param name="Tokens">Batch (selects the kernel variant).</param>
/// <param name="MaxRelError">max |gpu − ref| / max |ref|.</param>
/// <param name="Pass">Within the bound.</param>
public sealed record KernelCheck(DType Type, int Rows, int Cols, int Tokens, double MaxRelError, bool Pass);

/// <summary>The linear-layer kernels (every weight type × every batch variant) against a naive double-precision
/// reference on random data (ggml test-backend-ops style): f32/f16 weights with f32 activations; Q8_0/Q4_0 weights
/// with the activations quantized to Q8_0 by Core's reference quantizer, as the CPU and GPU paths both do.</summary>
/// <remarks>Stateless; safe from any thread.</remarks>
public static class CudaKernelCheck
{
    /// <summary>Bound on the max relative error (f32 accumulation of up to a few thousand terms).</summary>
    public const double Tolerance = 1e-5;

    /// <summary>Runs every combination on <paramref name="device"/>.</summary>
    public static IReadOnlyList<KernelCheck> Run(CudaDevice device, int seed = 42)
    {
        var results = new List<KernelCheck>();
        var rng = new Random(seed);
        foreach (var (rows, cols) in new[] { (67, 96), (1000, 1024), (300, 2048) })
            foreach (var type in new[] { DType.F32, DType.F16, DType.Q8_0, DType.Q4_0 })
                foreach (int tokens in new[] { 1, 2, 3, 4, 5, 8, 9, 17, 64 })
                    results.Add(Check(device, rng, type, rows, cols, tokens));
        return results;
    }

    private static unsafe KernelCheck Check(CudaDevice device, Random rng, DType type, int rows, int cols, int tokens)
    {
        var w = Gaussian(rng, rows * cols, 0.05);
        var x = Gaussian(rng, tokens * cols, 1.0);
        var bias = Gaussian(rng, rows, 0.1);
        var y0 = Gaussian(rng, tokens * rows, 1.0);   // accumulate: y = y0 + Wx + b

        // The weights as stored, and the values they stand for.
        byte[] stored;
        var wValues = new float[w.Length];
        if (type == DType.F32)
        {
            stored = new byte[w.Length * 4];
            System.Runtime.InteropServices.MemoryMarshal.AsBytes(w.AsSpan()).CopyTo(stored);
            w.CopyTo(wValues, 0);
        }
        else if (type == DType.F16)
        {
            var half = w.Select(v => (Half)v).ToArray();
            stored = System.Runtime.InteropServices.MemoryMarshal.AsBytes(half.AsSpan()).ToArray();
            for (int i = 0; i < w.Length; i++) wValues[i] = (float)half[i];
        }
        else
        {
            int rowBytes = (int)QuantTraits.Get(type).RowBytes(cols);
            stored = new byte[rows * rowBytes];
            for (int r = 0; r < rows; r++)
            {
                Quantization.Quantize(type, w.AsSpan(r * cols, cols), stored.AsSpan(r * rowBytes, rowBytes));
                Quantization.Dequantize(type, stored.AsSpan(r * rowBytes, rowBytes), wValues.AsSpan(r * cols, cols));
            }
        }
        // Quantized weights see Q8_0 activations.
        var xValues = x.ToArray();
        if (type is DType.Q8_0 or DType.Q4_0)
        {
            int rowBytes = (int)QuantTraits.Get(DType.Q8_0).RowBytes(cols);
            var q = new byte[rowBytes];
            for (int t = 0; t < tokens; t++)
            {
                Quantization.Quantize(DType.Q8_0, x.AsSpan(t * cols, cols), q);
                Quantization.Dequantize(DType.Q8_0, q, xValues.AsSpan(t * cols, cols));
            }
        }
        var expected = new float[tokens * rows];
        for (int t = 0; t < tokens; t++)
            for (int r = 0; r < rows; r++)
            {
                double s = 0;
                for (int c = 0; c < cols; c++) s += (double)wValues[r * cols + c] * xValues[t * cols + c];
                expected[t * rows + r] = (float)(y0[t * rows + r] + (s + bias[r]));
            }

        device.MakeCurrent();
        using var wBuf = device.Allocate(stored.Length);
        using var bBuf = device.Allocate(rows * 4L);
        using var xBuf = device.Allocate(tokens * cols * 4L);
        using var yBuf = device.Allocate(tokens * rows * 4L);
        using var ws = new CudaWorkspace(device, tokens, 64, 0, 1, type is DType.Q8_0 or DType.Q4_0 ? cols : 0);
        using var stream = new CudaStream(device);
        wBuf.Upload<byte>(stored);
        bBuf.Upload<float>(bias);
        xBuf.Upload<float>(x);
        yBuf.Upload<float>(y0);
        var recorder = new StepRecorder(device, ws);
        recorder.Linear(new DeviceMatrix("check", wBuf.Pointer, type, rows, cols, bBuf.Pointer), xBuf.Pointer, cols, yBuf.Pointer, rows, accumulate: true);
        foreach (var op in recorder.Ops) stream.Launch(op);
        stream.Synchronize();
        var actual = new float[tokens * rows];
        yBuf.Download<float>(actual);

        double maxErr = 0, maxRef = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            maxErr = Math.Max(maxErr, Math.Abs((double)actual[i] - expected[i]));
            maxRef = Math.Max(maxRef, Math.Abs((double)expected[i]));
            if (!float.IsFinite(actual[i])) maxErr = double.PositiveInfinity;
        }
        double rel = maxErr / Math.Max(maxRef, double.Epsilon);
        return new KernelCheck(type, rows, cols, tokens, rel, rel <= Tolerance);
    }

    private static float[] Gaussian(Random rng, int n, double scale)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++)
            a[i] = (float)(scale * Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
        return a;
    }
}
