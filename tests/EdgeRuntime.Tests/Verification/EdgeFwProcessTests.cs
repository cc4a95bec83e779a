using System.Diagnostics;
using System.Text.Json;
using EdgeRuntime.Models.Formats.Safetensors;

namespace EdgeRuntime.Tests.Verification;

/// <summary>Runs the real <c>edgefw</c> program (the build output next to the tests) as a separate process.</summary>
public sealed class EdgeFwProcessTests
{
    internal static (int ExitCode, string Stdout, string Stderr) RunEdgeFw(params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "edgefw.dll");
        Assert.True(File.Exists(dll), $"edgefw.dll not found at {dll}");
        return ChildProcess.Run(ChildProcess.Describe("dotnet", [dll, .. args]), TimeSpan.FromMinutes(5));
    }

    [Theory]
    [InlineData("based-tiny")]
    [InlineData("transnormer-tiny")]
    [InlineData("aaren-tiny")]
    public void Verify_Json_PassesOnSharedGolden(string name)
    {
        var dir = TestPaths.Golden(name);
        var (code, stdout, stderr) = RunEdgeFw("verify", dir, "--golden", Path.Combine(dir, "golden.safetensors"), "--json", "--threads", "2");
        Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");
        using var doc = JsonDocument.Parse(stdout);
        Assert.True(doc.RootElement.GetProperty("pass").GetBoolean());
        foreach (var check in doc.RootElement.GetProperty("checks").EnumerateArray())
        {
            Assert.True(check.GetProperty("pass").GetBoolean());
            Assert.True(check.GetProperty("maxRelError").GetDouble() <= 1e-4);
            Assert.True(check.TryGetProperty("relRms", out _));
            Assert.True(check.TryGetProperty("top1Agreement", out _));
            Assert.True(check.TryGetProperty("tolerance", out _));
        }
    }

    [Fact]
    public void Verify_ExitsOne_OnAMismatch()
    {
        // A golden whose logits were perturbed by 1% must fail.
        var dir = TestPaths.Golden("based-tiny");
        using var tmp = TestPaths.NewTempDir();
        using (var g = new SafetensorsFile(Path.Combine(dir, "golden.safetensors")))
        {
            var w = new SafetensorsWriter();
            foreach (var (k, v) in g.Metadata) w.Metadata(k, v);
            foreach (var (name, t) in g.Tensors)
            {
                if (t.DType == SafetensorsDType.I32) w.Add(name, g.ReadI32(name), t.Shape);
                else w.Add(name, g.ReadF32(name).Select(x => name == "logits" ? x * 1.01f : x).ToArray(), t.Shape);
            }
            w.Save(tmp.File("golden.safetensors"));
        }
        var (code, stdout, _) = RunEdgeFw("verify", dir, "--golden", tmp.File("golden.safetensors"));
        Assert.Equal(1, code);
        Assert.Contains("FAIL", stdout);
    }

    [Fact]
    public void Verify_ExitsTwo_OnUnusableInput()
    {
        var based = TestPaths.Golden("based-tiny");
        var (code, _, stderr) = RunEdgeFw("verify", "/nonexistent/model", "--golden", Path.Combine(based, "golden.safetensors"));
        Assert.Equal(2, code);
        Assert.Contains("nonexistent", stderr);

        // A golden of another family does not fit.
        (code, _, stderr) = RunEdgeFw("verify", based, "--golden", Path.Combine(TestPaths.Golden("aaren-tiny"), "golden.safetensors"));
        Assert.Equal(2, code);
        Assert.Contains("aaren", stderr);

        (code, _, _) = RunEdgeFw("verify", based);
        Assert.Equal(2, code);
    }

    [Fact]
    public void Inspect_Json_ReportsFamilyParametersAndStateBytes()
    {
        var (code, stdout, stderr) = RunEdgeFw("inspect", TestPaths.Golden("transnormer-tiny"), "--json");
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal("transnormer", doc.RootElement.GetProperty("family").GetString());
        // Independent count from the golden's own file: every tensor's elements.
        long expected;
        using (var f = new SafetensorsFile(Path.Combine(TestPaths.Golden("transnormer-tiny"), "model.safetensors")))
            expected = f.Tensors.Values.Sum(t => t.ElementCount);
        Assert.Equal(expected, doc.RootElement.GetProperty("parameters").GetInt64());
        Assert.True(doc.RootElement.GetProperty("stateBytesPerSession").GetInt64() > 0);
    }
}
