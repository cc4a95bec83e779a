using System.Text.Json;
using EdgeRuntime.Tools.Commands;

namespace EdgeRuntime.Tests.Tools;

/// <summary><c>edgefw bench --json</c> prints exactly the issue's schema (no timing is asserted, only shape and sanity).</summary>
public sealed class BenchCommandTests
{
    private static JsonElement RunJson(params string[] extra)
    {
        var output = new StringWriter();
        bool membw = extra.Contains("--membw");
        Assert.Equal(ExitCodes.Ok, BenchCommand.Run(TestPaths.Golden("based-tiny"), threads: 2, json: true, membw, peak: false,
            reps: 2, depthList: "0,40", depthSteps: 3, output, new StringWriter()));
        return JsonDocument.Parse(output.ToString()).RootElement.Clone();
    }

    [Fact]
    public void Json_HasExactlyTheIssueSchema()
    {
        var root = RunJson();
        Assert.Equal(["model", "threads", "memoryBandwidthGBs", "weightBytesPerToken", "pp512", "tg128", "depth", "peakRssBytes", "allocatedBytesPerStep"],
            root.EnumerateObject().Select(p => p.Name));
        Assert.Equal(["tokensPerSecond", "sd"], root.GetProperty("pp512").EnumerateObject().Select(p => p.Name));
        Assert.Equal(["tokensPerSecond", "sd", "effectiveBandwidthGBs"], root.GetProperty("tg128").EnumerateObject().Select(p => p.Name));
        var depth = root.GetProperty("depth").EnumerateArray().ToArray();
        Assert.Equal([0, 40], depth.Select(d => d.GetProperty("depth").GetInt32()));
        Assert.All(depth, d => Assert.Equal(["depth", "tokensPerSecond"], d.EnumerateObject().Select(p => p.Name)));
        Assert.Equal(2, root.GetProperty("threads").GetInt32());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("memoryBandwidthGBs").ValueKind);
        Assert.True(root.GetProperty("pp512").GetProperty("tokensPerSecond").GetDouble() > 0);
        Assert.True(root.GetProperty("peakRssBytes").GetInt64() > 0);
    }

    [Fact]
    public void WeightBytesPerToken_IsEveryMatrixOfTheGoldenModel()
    {
        // based-tiny (shared/golden/based-tiny/config.json): d 128, 6 layers (conv 0, 3; linear attention 1, 4; sliding 2, 5),
        // vocab 500 padded to 504, tied head; f32. One step streams every matrix once and the head (= embedding) once.
        long d = 128, conv = 512 * d + d * 256, linear = 2 * 64 * d + 2 * d * d, sliding = 3 * d * d + d * d, mlp = 512 * d + d * 256;
        long expected = 4 * (2 * conv + 2 * linear + 2 * sliding + 6 * mlp + 504 * d);
        Assert.Equal(expected, RunJson().GetProperty("weightBytesPerToken").GetInt64());
    }

    [Theory]
    [InlineData("0,4096,32768", new[] { 0, 4096, 32768 })]
    [InlineData(" 32768, 0 ,0", new[] { 0, 32768 })]
    [InlineData("", new int[0])]
    public void Depths_Parse(string text, int[] expected)
    {
        Assert.True(BenchCommand.TryParseDepths(text, out var depths));
        Assert.Equal(expected, depths);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("4k")]
    public void Depths_RejectNonIntegers(string text) => Assert.False(BenchCommand.TryParseDepths(text, out _));
}
