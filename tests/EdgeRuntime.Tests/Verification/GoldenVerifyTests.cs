using EdgeRuntime.Models;
using EdgeRuntime.Models.Sessions;
using EdgeRuntime.Models.Verification;
using Xunit.Abstractions;

namespace EdgeRuntime.Tests.Verification;

/// <summary>The shared goldens pass through the same code path as <c>edgefw verify</c>.</summary>
public sealed class GoldenVerifyTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("based-tiny", 1)]
    [InlineData("based-tiny", 2)]
    [InlineData("transnormer-tiny", 1)]
    [InlineData("transnormer-tiny", 2)]
    [InlineData("aaren-tiny", 1)]
    [InlineData("aaren-tiny", 2)]
    public void SharedGolden_PassesEveryCheck(string name, int threads)
    {
        var dir = TestPaths.Golden(name);
        using var model = ModelLoader.Load(dir, new ModelOptions { Threads = threads });
        var report = GoldenVerifier.Verify(model, Path.Combine(dir, "golden.safetensors"));
        foreach (var c in report.Checks)
            output.WriteLine($"{c.Name,-24} maxRel {c.MaxRelError:E2} relRms {c.RelRms:E2} top1 {c.Top1Agreement:P1} {(c.Pass ? "pass" : "FAIL")} {c.Detail}");
        Assert.All(report.Checks, c => Assert.True(c.Pass, $"{name}: check {c.Name} failed: maxRel {c.MaxRelError:E3} {c.Detail}"));
        Assert.True(report.Pass);
        var names = report.Checks.Select(c => c.Name).ToList();
        if (model is ILanguageModel)
        {
            Assert.Contains("prefill-all", names);
            Assert.Contains("step-all", names);
            Assert.Contains(names, n => n.StartsWith("split-prompt-", StringComparison.Ordinal));
            Assert.Contains("split-1", names);
            Assert.Contains(names, n => n.StartsWith("split-in-block-", StringComparison.Ordinal));
            Assert.Contains("greedy", names);
            Assert.Contains(names, n => n.StartsWith("greedy-penalty-", StringComparison.Ordinal));
        }
        else
        {
            Assert.Contains("stream", names);
            Assert.Contains("parallel", names);
        }
    }

    [Fact]
    public void Compare_FlagsNaN_AndReportsRelativeMetrics()
    {
        float[] expected = [1, 2, 3, 4];
        var ok = GoldenVerifier.Compare("x", [1, 2, 3, 4.0002f], expected, 1, 4, 4, 1e-4);
        Assert.True(ok.Pass);
        Assert.InRange(ok.MaxRelError, 4e-5, 6e-5);
        var bad = GoldenVerifier.Compare("x", [1, 2, 3, 4.01f], expected, 1, 4, 4, 1e-4);
        Assert.False(bad.Pass);
        var nan = GoldenVerifier.Compare("x", [1, float.NaN, 3, 4], expected, 1, 4, 4, 1e-4);
        Assert.False(nan.Pass);
        Assert.True(double.IsNaN(nan.MaxRelError));
    }
}
