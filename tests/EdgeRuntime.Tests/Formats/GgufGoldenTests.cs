using System.Buffers.Binary;
using System.Text.Json;
using EdgeRuntime.Models;
using EdgeRuntime.Models.Formats.Gguf;
using EdgeRuntime.Models.Sessions;
using EdgeRuntime.Models.Verification;
using EdgeRuntime.Tests.Verification;
using Xunit.Abstractions;

namespace EdgeRuntime.Tests.Formats;

/// <summary>Converted goldens, verified once per (golden, type) and shared by the tests of <see cref="GgufGoldenTests"/>.</summary>
public sealed class GgufGoldenFixture : IDisposable
{
    private readonly Dictionary<(string Dir, string Type), (string Path, VerifyReport Report)> _runs = [];
    private readonly Lock _lock = new();

    public GgufGoldenFixture() => Files = new GgufTestFiles();

    internal GgufTestFiles Files { get; }

    /// <summary>Converts <c>shared/golden/{dir}</c> to <paramref name="type"/> and verifies it as <c>edgefw verify</c>
    /// does (budget from the file's <c>general.file_type</c> and the model's family), with 2 worker threads.</summary>
    public (string Path, VerifyReport Report) Run(string dir, string type)
    {
        lock (_lock)
        {
            if (_runs.TryGetValue((dir, type), out var done)) return done;
            string source = TestPaths.Golden(dir);
            string path = Files.PathOf($"{dir}-{type}.gguf");
            GgufConverter.Convert(source, path, GgufConverter.ParseFileType(type));
            var report = VerifyFile(path, Path.Combine(source, "golden.safetensors"), ErrorBudgets.TypeOf(path));
            _runs[(dir, type)] = (path, report);
            return (path, report);
        }
    }

    /// <summary>Loads <paramref name="modelPath"/> and verifies it under the <paramref name="budgetType"/> budget of its family.</summary>
    public static VerifyReport VerifyFile(string modelPath, string goldenPath, string budgetType)
    {
        using var model = ModelLoader.Load(modelPath, new ModelOptions { Threads = 2 });
        return GoldenVerifier.Verify(model, goldenPath, ErrorBudgets.For(budgetType, model.Info.Family));
    }

    public void Dispose() => Files.Dispose();
}

/// <summary>Every shared golden converted to GGUF and run through the <c>edgefw verify</c> path: f32 within the goldens'
/// 1e-4, f16/q8_0/q4_0 within the measured budgets of docs/formats.md; the budgets are shown not to be vacuous.</summary>
public sealed class GgufGoldenTests(GgufGoldenFixture fixture, ITestOutputHelper output) : IClassFixture<GgufGoldenFixture>
{
    public static TheoryData<string, string> Families => new()
    {
        { "based-tiny", "based" },
        { "transnormer-tiny", "transnormer" },
        { "aaren-tiny", "aaren" },
    };

    public static TheoryData<string, string> LossyRuns
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (string dir in new[] { "based-tiny", "transnormer-tiny", "aaren-tiny" })
                foreach (string type in new[] { "f16", "q8_0", "q4_0" })
                    data.Add(dir, type);
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void F32Gguf_PassesEveryGoldenCheck_WithinF32Tolerance(string dir, string family)
    {
        var (path, report) = fixture.Run(dir, "f32");
        Print(report);
        Assert.Equal("f32", ErrorBudgets.TypeOf(path));
        Assert.True(report.Budget.IsExact);
        Assert.Equal(1e-4, report.Budget.MaxRelError);
        Assert.Null(report.Budget.RelRms);
        Assert.All(report.Checks, c => Assert.True(c.Pass && c.MaxRelError <= 1e-4, $"{family} f32 GGUF: {c.Name} maxRel {c.MaxRelError:E3} {c.Detail}"));
        Assert.True(report.Pass);
    }

    [Theory]
    [MemberData(nameof(LossyRuns))]
    public void LossyGguf_VerifiesWithinDocumentedBudget(string dir, string type)
    {
        var (path, report) = fixture.Run(dir, type);
        Print(report);
        string family = dir[..dir.IndexOf('-')];
        // auto picked the file's type and the family's own row of the table.
        Assert.Equal(type, ErrorBudgets.TypeOf(path));
        Assert.Equal(type, report.Budget.Type);
        Assert.Equal(family, report.Budget.Family);
        var row = ErrorBudgets.Table.Single(r => r.Type == type && r.Family == family);
        Assert.Equal(row.RelRms, report.Budget.RelRms);
        Assert.Equal(row.Top1, report.Budget.Top1Agreement);
        Assert.False(report.Budget.RequireEqualTokens);
        foreach (var c in report.Checks)
        {
            Assert.True(double.IsFinite(c.RelRms), $"{dir} {type} {c.Name}: non-finite");
            Assert.True(c.RelRms <= row.RelRms, $"{dir} {type} {c.Name}: relRms {c.RelRms:E3} > budget {row.RelRms}");
            Assert.True(c.Top1Agreement >= row.Top1, $"{dir} {type} {c.Name}: top-1 {c.Top1Agreement:F3} < budget {row.Top1}");
            Assert.True(c.Pass, $"{dir} {type} {c.Name}: {c.Detail}");
            Assert.Equal(row.RelRms, c.Tolerance);
            // A lossy file is genuinely lossy: it would not pass the exact f32 bound (so the budget is what passes it).
            Assert.True(c.MaxRelError > 1e-4, $"{dir} {type} {c.Name}: maxRel {c.MaxRelError:E3} is f32-exact; is the file really {type}?");
        }
        Assert.True(report.Pass);
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void Errors_GrowFromF16ToQ8ToQ4_AndEachBudgetRejectsTheNextCoarserType(string dir, string family)
    {
        double Worst(string type) => fixture.Run(dir, type).Report.Checks.Max(c => c.RelRms);
        double f16 = Worst("f16"), q8 = Worst("q8_0"), q4 = Worst("q4_0");
        output.WriteLine($"{family}: worst relRms f16 {f16:E2}, q8_0 {q8:E2}, q4_0 {q4:E2}");
        Assert.True(f16 * 5 < q8, $"{family}: f16 {f16:E2} is not well below q8_0 {q8:E2}");
        Assert.True(q8 * 5 < q4, $"{family}: q8_0 {q8:E2} is not well below q4_0 {q4:E2}");
        // The f16 budget rejects every check of the q8_0 file, and the q8_0 budget every check of the q4_0 file
        // (the documented rule: relRms ≤ bound and top-1 ≥ bound, applied to the measured checks).
        static bool Admits(ErrorBudget b, VerifyCheck c) => c.RelRms <= b.RelRms && c.Top1Agreement >= b.Top1Agreement;
        var f16Budget = ErrorBudgets.For("f16", family);
        var q8Budget = ErrorBudgets.For("q8_0", family);
        Assert.All(fixture.Run(dir, "q8_0").Report.Checks, c => Assert.False(Admits(f16Budget, c), $"{family}: q8_0 check {c.Name} fits the f16 budget"));
        Assert.All(fixture.Run(dir, "q4_0").Report.Checks, c => Assert.False(Admits(q8Budget, c), $"{family}: q4_0 check {c.Name} fits the q8_0 budget"));
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void Q4Budget_Rejects_TwoBitWeights(string dir, string family)
    {
        // Same file as q4_0, but every block re-rounded to 4 levels (−2..1)·d, ggml-style d = max/−2: a "q2" model.
        string q4 = fixture.Run(dir, "q4_0").Path;
        string q2 = fixture.Files.PathOf($"{dir}-q2like.gguf");
        CoarsenQ4ToTwoBits(q4, q2);
        var report = GgufGoldenFixture.VerifyFile(q2, GoldenPath(dir), "q4_0");
        Print(report);
        Assert.Equal("q4_0", report.Budget.Type);
        Assert.False(report.Pass, $"{family}: two-bit weights pass the q4_0 budget");
        Assert.All(report.Checks, c => Assert.False(c.Pass, $"{family} q2-like {c.Name} passes: relRms {c.RelRms:E2}, top-1 {c.Top1Agreement:F3}"));
    }

    [Fact]
    public void EdgeFwProcess_ConvertsAndVerifiesQ8File_ReportingBudgetAndDivergence()
    {
        string source = TestPaths.Golden("transnormer-tiny");
        string path = fixture.Files.PathOf("process-transnormer-q8_0.gguf");
        var (code, stdout, stderr) = EdgeFwProcessTests.RunEdgeFw("convert", source, "-o", path, "--type", "q8_0");
        Assert.True(code == 0, $"convert exit {code}\n{stdout}\n{stderr}");
        Assert.Contains("Q8_0", stdout);          // per-tensor table
        Assert.Contains("total", stdout);

        string golden = Path.Combine(source, "golden.safetensors");
        (code, stdout, stderr) = EdgeFwProcessTests.RunEdgeFw("verify", path, "--golden", golden, "--json", "--threads", "2");
        Assert.True(code == 0, $"verify exit {code}\n{stdout}\n{stderr}");
        Assert.Contains("budget q8_0 (transnormer)", stderr);
        using (var doc = JsonDocument.Parse(stdout))
        {
            var root = doc.RootElement;
            Assert.True(root.GetProperty("pass").GetBoolean());
            var budget = root.GetProperty("budget");
            var row = ErrorBudgets.Table.Single(r => r.Type == "q8_0" && r.Family == "transnormer");
            Assert.Equal("q8_0", budget.GetProperty("type").GetString());
            Assert.Equal("transnormer", budget.GetProperty("family").GetString());
            Assert.Equal(row.RelRms, budget.GetProperty("relRms").GetDouble());
            Assert.Equal(row.Top1, budget.GetProperty("top1Agreement").GetDouble());
            Assert.False(budget.GetProperty("requireEqualTokens").GetBoolean());
            Assert.False(budget.TryGetProperty("maxRelError", out _));
            foreach (var check in root.GetProperty("checks").EnumerateArray())
            {
                Assert.True(check.GetProperty("pass").GetBoolean());
                Assert.True(check.GetProperty("relRms").GetDouble() <= row.RelRms);
                Assert.True(check.GetProperty("top1Agreement").GetDouble() >= row.Top1);
                Assert.True(check.GetProperty("maxRelError").GetDouble() > 1e-4);
                Assert.Equal(row.RelRms, check.GetProperty("tolerance").GetDouble());
            }
        }

        // Forcing the exact budget on the same file fails with exit code 1 (and names the budget).
        (code, stdout, stderr) = EdgeFwProcessTests.RunEdgeFw("verify", path, "--golden", golden, "--budget", "f32", "--threads", "2");
        Assert.True(code == 1, $"verify --budget f32 exit {code}\n{stdout}\n{stderr}");
        Assert.Contains("budget: f32", stdout);
        Assert.Contains("FAIL", stdout);
    }

    [Fact]
    public void EdgeFwProcess_InspectGguf_PrintsMetadataAndTensorTable()
    {
        var (path, _) = fixture.Run("based-tiny", "q4_0");
        using var reader = new GgufReader(path);
        var (code, stdout, stderr) = EdgeFwProcessTests.RunEdgeFw("inspect", path, "--json");
        Assert.True(code == 0, $"inspect exit {code}\n{stderr}");
        using (var doc = JsonDocument.Parse(stdout))
        {
            var root = doc.RootElement;
            Assert.Equal("based", root.GetProperty("family").GetString());
            var gguf = root.GetProperty("gguf");
            Assert.Equal(3, gguf.GetProperty("version").GetInt32());
            Assert.Equal(32, gguf.GetProperty("alignment").GetInt32());
            Assert.Equal(new FileInfo(path).Length, gguf.GetProperty("fileBytes").GetInt64());
            var meta = gguf.GetProperty("metadata").EnumerateArray().ToDictionary(m => m.GetProperty("key").GetString()!);
            Assert.Equal("based", meta["general.architecture"].GetProperty("value").GetString());
            Assert.Equal("uint32", meta["general.file_type"].GetProperty("type").GetString());
            Assert.Equal(2, meta["general.file_type"].GetProperty("value").GetInt32());
            Assert.Equal(reader.Metadata.Count, meta.Count);
            var tensors = gguf.GetProperty("tensors").EnumerateArray().ToList();
            Assert.Equal(reader.Tensors.Count, tensors.Count);
            long previousEnd = gguf.GetProperty("dataOffset").GetInt64();
            foreach (var t in tensors)
            {
                string type = t.GetProperty("type").GetString()!;
                long[] shape = t.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
                long[] ne = t.GetProperty("ne").EnumerateArray().Select(d => d.GetInt64()).ToArray();
                Assert.Equal(shape.Reverse(), ne);
                long elements = shape.Aggregate(1L, (a, b) => a * b);
                // Bytes by hand: Q4_0 = 18 bytes per 32 values, F32 = 4 per value.
                long expectedBytes = type switch { "Q4_0" => elements / 32 * 18, "F32" => elements * 4, _ => -1 };
                Assert.Equal(expectedBytes, t.GetProperty("bytes").GetInt64());
                long offset = t.GetProperty("offset").GetInt64();
                Assert.Equal(0, offset % 32);
                Assert.True(offset >= previousEnd, $"tensor {t.GetProperty("name")} at {offset} overlaps the previous one ending at {previousEnd}");
                previousEnd = offset + expectedBytes;
            }
            Assert.Contains(tensors, t => t.GetProperty("type").GetString() == "Q4_0");
            Assert.True(previousEnd <= new FileInfo(path).Length);
        }

        (code, stdout, stderr) = EdgeFwProcessTests.RunEdgeFw("inspect", path);
        Assert.True(code == 0, stderr);
        Assert.Contains("GGUF v3", stdout);
        Assert.Contains("general.quantization_version", stdout);
        Assert.Contains("transformer.layers.0.mixer.conv.conv.weight", stdout);
        Assert.Matches(@"transformer\.layers\.0\.mixer\.in_proj\.weight\s*│\s*Q4_0\s*│\s*\[512, 128\]", stdout);
        Assert.Contains("parameters", stdout);
    }

    [Fact]
    public void BudgetTable_InDocs_MatchesTheCode()
    {
        string docs = Path.Combine(TestPaths.Repository, "docs", "formats.md");
        Assert.True(File.Exists(docs), $"missing {docs}");
        var rows = new List<(string Type, string? Family, double RelRms, double Top1)>();
        foreach (string line in File.ReadLines(docs))
        {
            var cells = line.Split('|', StringSplitOptions.TrimEntries);
            // | `q8_0` | based | 0.05 | 0.92 | ... : the budget table's rows.
            if (cells.Length < 6 || !cells[1].StartsWith('`') || !cells[1].EndsWith('`')) continue;
            string type = cells[1].Trim('`');
            if (!ErrorBudgets.Types.Contains(type) || type == "f32") continue;
            string? family = cells[2] == "(default)" ? null : cells[2];
            rows.Add((type, family, double.Parse(cells[3], System.Globalization.CultureInfo.InvariantCulture), double.Parse(cells[4], System.Globalization.CultureInfo.InvariantCulture)));
        }
        Assert.Equal(ErrorBudgets.Table.OrderBy(r => r.Type).ThenBy(r => r.Family), rows.OrderBy(r => r.Type).ThenBy(r => r.Family));
    }

    [Fact]
    public void AutoBudget_IsF32ForDirectories_AndUnknownFileTypeIsAClearError()
    {
        Assert.Equal("f32", ErrorBudgets.TypeOf(TestPaths.Golden("aaren-tiny")));
        string path = fixture.Files.PathOf("bf16-type.gguf");
        new GgufWriter().Add("general.architecture", "aaren").Add("general.file_type", 32u).Save(path);
        var ex = Assert.Throws<Models.Formats.ModelConfigException>(() => ErrorBudgets.TypeOf(path));
        Assert.Contains("general.file_type", ex.Message);
        Assert.Contains("--budget", ex.Message);
        Assert.Throws<ArgumentException>(() => ErrorBudgets.For("q5_k", "based"));
        Assert.Equal(ErrorBudgets.Table.Single(r => r.Type == "q4_0" && r.Family is null).RelRms, ErrorBudgets.For("q4_0", "some-new-family").RelRms);
    }

    private static string GoldenPath(string dir) => Path.Combine(TestPaths.Golden(dir), "golden.safetensors");

    private void Print(VerifyReport report)
    {
        output.WriteLine($"{Path.GetFileName(report.Model)}: budget {report.Budget.Describe()}");
        foreach (var c in report.Checks)
            output.WriteLine($"  {c.Name,-24} maxRel {c.MaxRelError:E2} relRms {c.RelRms:E3} top1 {c.Top1Agreement:F4} {(c.Pass ? "pass" : "FAIL")} {c.Detail}");
    }

    /// <summary>Rewrites every Q4_0 block of <paramref name="source"/> with four levels: the block's values
    /// <c>(q−8)·d</c> are re-rounded to <c>q2·d2</c>, <c>q2 ∈ [−2, 1]</c>, <c>d2 = m / −2</c> (m the value of largest
    /// magnitude), stored back as nibbles <c>q2 + 8</c> with scale d2.</summary>
    private static void CoarsenQ4ToTwoBits(string source, string destination)
    {
        byte[] bytes = File.ReadAllBytes(source);
        var v = new float[32];
        using (var reader = new GgufReader(source))
        {
            foreach (var t in reader.Tensors.Where(t => t.Type == GgmlType.Q4_0))
            {
                for (long b = t.Offset; b < t.Offset + t.ByteLength; b += 18)
                {
                    var block = bytes.AsSpan((int)b, 18);
                    float d = (float)BinaryPrimitives.ReadHalfLittleEndian(block);
                    for (int j = 0; j < 16; j++)
                    {
                        v[j] = ((block[2 + j] & 0x0F) - 8) * d;
                        v[j + 16] = ((block[2 + j] >> 4) - 8) * d;
                    }
                    float max = 0;
                    foreach (float x in v) if (Math.Abs(x) > Math.Abs(max)) max = x;
                    float d2 = max / -2f;
                    float id2 = d2 != 0 ? 1f / d2 : 0f;
                    BinaryPrimitives.WriteHalfLittleEndian(block, (Half)d2);
                    for (int j = 0; j < 16; j++)
                    {
                        int lo = Math.Clamp((int)MathF.Round(v[j] * id2), -2, 1) + 8;
                        int hi = Math.Clamp((int)MathF.Round(v[j + 16] * id2), -2, 1) + 8;
                        block[2 + j] = (byte)(lo | (hi << 4));
                    }
                }
            }
        }
        File.WriteAllBytes(destination, bytes);
    }
}
