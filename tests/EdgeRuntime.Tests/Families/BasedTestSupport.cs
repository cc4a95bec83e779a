using Xunit.Abstractions;

namespace EdgeRuntime.Tests.Families;

/// <summary>Small helpers of the BASED tests: the shared folder and a relative max-abs comparison that names the worst element.</summary>
internal static class BasedTestSupport
{
    /// <summary>The <c>shared</c> folder: walks up from the test binaries to the directory that contains <c>shared/golden</c>.</summary>
    public static string SharedDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared");
            if (Directory.Exists(Path.Combine(candidate, "golden"))) return candidate;
        }
        throw new DirectoryNotFoundException($"no shared/golden above '{AppContext.BaseDirectory}'");
    }

    /// <summary>Asserts <c>max|actual − expected| / max|expected| ≤ tolerance</c>, reporting tensor, row, column, expected and actual.</summary>
    public static double AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double tolerance, string tensor, int rowWidth,
        ITestOutputHelper? output = null)
    {
        var e = new double[expected.Length];
        for (int i = 0; i < e.Length; i++) e[i] = expected[i];
        return AssertClose(e, actual, tolerance, tensor, rowWidth, output);
    }

    /// <summary>Double-precision expected values (naive references).</summary>
    public static double AssertClose(ReadOnlySpan<double> expected, ReadOnlySpan<float> actual, double tolerance, string tensor, int rowWidth,
        ITestOutputHelper? output = null)
    {
        Assert.True(expected.Length == actual.Length, $"{tensor}: length {actual.Length}, expected {expected.Length}");
        double maxRef = 0, maxErr = 0;
        int worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            maxRef = Math.Max(maxRef, Math.Abs(expected[i]));
            double err = Math.Abs(actual[i] - expected[i]);
            if (double.IsNaN(err)) err = double.PositiveInfinity;
            if (err > maxErr)
            {
                maxErr = err;
                worst = i;
            }
        }
        double rel = maxErr / Math.Max(maxRef, 1e-30);
        string where = expected.Length == 0 ? "" : $"at [{worst / rowWidth}, {worst % rowWidth}] expected {expected[worst]:R}, actual {actual[worst]:R}";
        output?.WriteLine($"{tensor}: max|Δ|/max|ref| = {rel:E3} {where}");
        Assert.True(rel <= tolerance, $"{tensor}: max|Δ|/max|ref| = {rel:E3} > {tolerance:E1} {where} (max|ref| {maxRef:G6})");
        return rel;
    }
}
