using EdgeRuntime.Core.Quant;
using EdgeRuntime.Core.Tensors;
using EdgeRuntime.Models.Formats.Gguf;
using EdgeRuntime.Models.Formats.Safetensors;
using Xunit.Abstractions;

namespace EdgeRuntime.Tests.Quant;

/// <summary>The weight-level error model behind the budgets of docs/formats.md: round-to-nearest on a grid of step d
/// leaves a uniform error of variance d²/12, so a matrix's relative RMS error is sqrt(Σ_b 32·d_b²/12 / Σ w²), with
/// d_b = amax_b/127 (Q8_0), amax_b/8 (Q4_0) or the f16 spacing of each value.</summary>
public sealed class QuantErrorModelTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("based-tiny")]
    [InlineData("transnormer-tiny")]
    [InlineData("aaren-tiny")]
    public void WeightError_OfGoldenMatrices_MatchesUniformRoundingModel(string dir)
    {
        using var file = new SafetensorsFile(Path.Combine(TestPaths.Golden(dir), "model.safetensors"));
        foreach (var (type, name) in new[] { (DType.F16, "f16"), (DType.Q8_0, "q8_0"), (DType.Q4_0, "q4_0") })
        {
            double err2 = 0, w2 = 0, predicted2 = 0, amaxOverRms = 0;
            long blocksSeen = 0;
            foreach (var t in file.Tensors.Values)
            {
                if (!GgufConverter.IsWeightMatrix(t.Name, t.Shape) || (type != DType.F16 && t.Shape[1] % 32 != 0)) continue;
                float[] w = file.ReadF32(t.Name);
                int cols = (int)t.Shape[1];
                var traits = QuantTraits.Get(type);
                var bytes = new byte[traits.RowBytes(cols)];
                var back = new float[cols];
                for (int r = 0; r < t.Shape[0]; r++)
                {
                    var row = w.AsSpan(r * cols, cols);
                    Quantization.Quantize(type, row, bytes);
                    Quantization.Dequantize(type, bytes, back);
                    for (int c = 0; c < cols; c++)
                    {
                        double e = back[c] - (double)row[c];
                        err2 += e * e;
                        w2 += (double)row[c] * row[c];
                        if (type == DType.F16) predicted2 += Square(F16Spacing(row[c])) / 12;
                    }
                    if (type == DType.F16) continue;
                    for (int b = 0; b < cols; b += 32)
                    {
                        double amax = 0, ss = 0;
                        for (int j = b; j < b + 32; j++) { amax = Math.Max(amax, Math.Abs(row[j])); ss += (double)row[j] * row[j]; }
                        double step = amax / (type == DType.Q8_0 ? 127 : 8);
                        predicted2 += 32 * step * step / 12;
                        amaxOverRms += amax / Math.Sqrt(ss / 32);
                        blocksSeen++;
                    }
                }
            }
            double measured = Math.Sqrt(err2 / w2), predicted = Math.Sqrt(predicted2 / w2);
            output.WriteLine($"{dir} {name}: weight relRms measured {measured:E3}, uniform-rounding model {predicted:E3}" +
                (blocksSeen > 0 ? $", mean amax/rms per block {amaxOverRms / blocksSeen:F3}" : ""));
            Assert.InRange(measured / predicted, 0.85, 1.15);
        }
    }

    private static double Square(double x) => x * x;

    /// <summary>Distance between neighbouring f16 values around <paramref name="x"/> (2^(e−10) for normals, 2^−24 below 2^−14).</summary>
    private static double F16Spacing(float x)
    {
        double a = Math.Abs((double)x);
        if (a < Math.Pow(2, -14)) return Math.Pow(2, -24);
        return Math.Pow(2, Math.Floor(Math.Log2(a)) - 10);
    }
}
