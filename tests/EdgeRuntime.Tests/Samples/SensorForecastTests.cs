using System.Diagnostics;
using System.Globalization;
using EdgeRuntime.Tests.Service;
using Xunit.Abstractions;

namespace EdgeRuntime.Tests.Samples;

/// <summary>samples/SensorForecast against the service started with its defaults (the forecaster on infer): its
/// forecasts and anomaly flags equal the sample model computed in this process with the model card's rule.</summary>
[Collection(ServiceCollection.Name)]
public sealed class SensorForecastTests(DefaultModelsServiceFixture fixture, ITestOutputHelper log) : IClassFixture<DefaultModelsServiceFixture>
{
    private static readonly string s_config = TestPaths.SampleModel("aaren-motes.config.json");

    [Fact]
    public async Task SensorForecast_ForecastsLikeTheModelInProcess_AndFlagsByTheCardRule()
    {
        // 250 readings in two streams: the start of mote 2 (whose first forecast the card says is flagged) and 100
        // readings of mote 4 around its labelled event (card: readings 2361-2392; 2330..2429 here).
        string[] lines = MotesReference.HeldOutLines();
        Assert.Equal("mote_id,indoor,humidity,temperature,label", lines[0]);
        var mote2 = lines.Skip(1).Where(l => l.StartsWith("2,", StringComparison.Ordinal)).Take(150);
        var mote4 = lines.Skip(1).Where(l => l.StartsWith("4,", StringComparison.Ordinal)).Skip(2330).Take(100);
        string[] body = [.. mote2, .. mote4];
        using var dir = TestPaths.NewTempDir();
        string csv = dir.File("readings.csv"), outCsv = dir.File("forecasts.csv");
        File.WriteAllLines(csv, [lines[0], .. body]);

        var (code, stdout, stderr) = await RunClientAsync(csv, "--config", s_config, "--port", Port, "--node", fixture.NodeId, "--out", outCsv, "--timeout", "60");
        Assert.True(code == 0, $"exit {code}\nstdout: {stdout}\nstderr: {stderr}");
        Assert.Contains($"node '{fixture.NodeId}'", stderr);

        using var reference = new MotesReference();
        var rows = ReadForecasts(outCsv);
        Assert.Equal(body.Length, rows.Count);
        int row = 0, tp = 0, fp = 0, fn = 0;
        double maxOutputError = 0, modelError = 0, lastError = 0;
        foreach (var (mote, indoor, readings, labels) in MotesReference.Streams(body))
        {
            float[] outputs = reference.Run(reference.Features(readings, indoor));
            double[] scores = reference.Scores(readings, outputs);
            for (int t = 0; t < readings.Count; t++, row++)
            {
                var r = rows[row];
                Assert.Equal(mote, r["mote"]);
                Assert.Equal(t.ToString(CultureInfo.InvariantCulture), r["reading"]);
                for (int c = 0; c < 2; c++)
                {
                    float actual = float.Parse(r[c == 0 ? "output_humidity" : "output_temperature"], CultureInfo.InvariantCulture);
                    maxOutputError = Math.Max(maxOutputError, Math.Abs(actual - outputs[t * 2 + c]));
                    Assert.True(Math.Abs(actual - outputs[t * 2 + c]) <= 1e-5,
                        $"mote {mote} reading {t} output {c}: the model in process gives {outputs[t * 2 + c]:R}, sensor-forecast got {actual:R}");
                }
                if (t == 0)
                {
                    Assert.Equal("", r["anomaly"]);
                    continue;
                }
                for (int c = 0; c < 2; c++)
                {
                    double forecast = readings[t - 1][c] + outputs[(t - 1) * 2 + c] * reference.Delta[c];
                    double printed = double.Parse(r[c == 0 ? "forecast_humidity" : "forecast_temperature"], CultureInfo.InvariantCulture);
                    Assert.True(Math.Abs(printed - forecast) <= 1e-6, $"mote {mote} reading {t}: forecast {c} is {printed:R}, expected {forecast:R}");
                    modelError += Math.Abs(forecast - readings[t][c]);
                    lastError += Math.Abs(readings[t - 1][c] - readings[t][c]);
                }
                bool flagged = scores[t] > reference.Threshold;
                Assert.True(Math.Abs(scores[t] - reference.Threshold) > 1e-4, $"mote {mote} reading {t}: score {scores[t]} is too close to the threshold to compare");
                Assert.True((r["anomaly"] == "1") == flagged,
                    $"mote {mote} reading {t}: score {scores[t]:F4} vs threshold {reference.Threshold:F4}: expected {(flagged ? "" : "no ")}flag, sensor-forecast printed anomaly={r["anomaly"]} (score {r["score"]})");
                if (flagged && labels[t] == 1) tp++;
                else if (flagged) fp++;
                else if (labels[t] == 1) fn++;
            }
        }
        log.WriteLine($"max |output - in-process output| = {maxOutputError:E2}; TP {tp}, FP {fp}, FN {fn}");

        // The window holds real evidence both ways: the event of mote 4 is flagged, and so is mote 2's first forecast.
        Assert.True(tp >= 20, $"only {tp} labelled readings flagged");
        Assert.True(fp >= 1, "no reading outside the event flagged (the card: mote 2's first forecast is)");
        double precision = (double)tp / (tp + fp), recall = (double)tp / (tp + fn);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"precision {precision:F3}, recall {recall:F3}"), stdout);
        Assert.Contains($"(TP {tp}, FP {fp}, FN {fn})", stdout);
        int forecasts = body.Length - 2;
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"{forecasts} forecasts"), stdout);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"mean {modelError / 2 / forecasts:F5}"), stdout);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"mean {lastError / 2 / forecasts:F5}"), stdout);

        // The printed table: one line per reading, anomalies marked.
        Assert.Equal(tp + fp, stdout.Split('\n').Count(l => l.Contains("ANOMALY", StringComparison.Ordinal)));

        // MQTT 3.1.1 ("replyTo" and "id" in the payload) streams the same numbers.
        string out311 = dir.File("forecasts-311.csv");
        (code, stdout, stderr) = await RunClientAsync(csv, "--config", s_config, "--port", Port, "--node", fixture.NodeId, "--out", out311, "--limit", "40", "--mqtt311", "--quiet");
        Assert.True(code == 0, $"--mqtt311: exit {code}\nstdout: {stdout}\nstderr: {stderr}");
        Assert.Contains("over MQTT 3.1.1", stderr);
        Assert.Equal(File.ReadLines(outCsv).Take(41), File.ReadLines(out311));
    }

    [Fact]
    public async Task SensorForecast_KeepsToTheRate()
    {
        // 11 readings at 20 per second: the last one goes out no earlier than 0.5 s after the first.
        var (code, stdout, stderr) = await RunClientAsync(TestPaths.SampleModel("aaren-motes-heldout.csv"), "--config", s_config,
            "--port", Port, "--node", fixture.NodeId, "--limit", "11", "--rate", "20", "--quiet");
        Assert.True(code == 0, $"exit {code}\nstdout: {stdout}\nstderr: {stderr}");
        var summary = System.Text.RegularExpressions.Regex.Match(stdout, @"11 readings of 1 stream\(s\) \(mote 2: 11\), 10 forecasts, ([0-9.]+) s");
        Assert.True(summary.Success, stdout);
        Assert.True(double.Parse(summary.Groups[1].Value, CultureInfo.InvariantCulture) >= 0.5, summary.Value);
        Assert.DoesNotContain("ANOMALY", stdout); // --quiet: the summary only
    }

    [Fact]
    public async Task SensorForecast_RefusesBadInput_WithClearMessages()
    {
        using var dir = TestPaths.NewTempDir();
        var (code, _, stderr) = await RunClientAsync(dir.File("missing.csv"), "--config", s_config, "--port", Port);
        Assert.Equal(2, code);
        Assert.Contains($"readings file '{dir.File("missing.csv")}' not found", stderr);

        string bad = dir.File("bad.csv");
        File.WriteAllLines(bad, ["mote_id,indoor,humidity,temperature,label", "7,1,45.10,27.40,0", "7,1,4x.1,27.40,0"]);
        (code, _, stderr) = await RunClientAsync(bad, "--config", s_config, "--port", Port);
        Assert.Equal(2, code);
        Assert.Contains($"{bad}:3: humidity is '4x.1', expected a number", stderr);

        File.WriteAllLines(bad, ["mote_id,humidity,temperature", "7,45.10,27.40"]);
        (code, _, stderr) = await RunClientAsync(bad, "--config", s_config, "--port", Port);
        Assert.Equal(2, code);
        Assert.Contains("no 'indoor' column", stderr);

        (code, _, stderr) = await RunClientAsync(TestPaths.SampleModel("aaren-motes-heldout.csv"), "--config", s_config, "--rate", "fast");
        Assert.Equal(2, code);
        Assert.Contains("--rate is 'fast'", stderr);
    }

    [Fact]
    public async Task SensorForecast_Fails_WhenTheNodeServesNoForecaster()
    {
        using var dir = TestPaths.NewTempDir();
        string node = ServiceArgs.Node("noinfer");
        var (service, port) = await ServiceProcess.StartEmbeddedAsync(node, _ => ServiceArgs.For(node, ServiceArgs.BasedTiny, dir.File("sessions")));
        using var serviceLease = service;
        var (code, stdout, stderr) = await RunClientAsync(TestPaths.SampleModel("aaren-motes-heldout.csv"), "--config", s_config,
            "--port", port.ToString(CultureInfo.InvariantCulture), "--limit", "5", "--timeout", "20");
        Assert.True(code == 1, $"exit {code}\nstdout: {stdout}\nstderr: {stderr}");
        Assert.Contains($"node '{node}' serves no model on infer", stderr);
        Assert.Contains("--InferModel:Path=samples/models/aaren-motes.gguf", stderr);
        await ServiceArgs.StopCleanlyAsync(service);
    }

    private string Port => fixture.BrokerPort.ToString(CultureInfo.InvariantCulture);

    private static Task<(int Code, string Stdout, string Stderr)> RunClientAsync(params string[] args) =>
        ChildProcess.RunAsync(ChildProcess.Describe("dotnet", [Path.Combine(AppContext.BaseDirectory, "sensor-forecast.dll"), .. args]), TimeSpan.FromMinutes(3));

    /// <summary>The rows of sensor-forecast's --out file by column name.</summary>
    private static List<Dictionary<string, string>> ReadForecasts(string path)
    {
        string[] lines = File.ReadAllLines(path);
        string[] header = lines[0].Split(',');
        Assert.Equal(["mote", "reading", "humidity", "temperature", "label", "forecast_humidity", "forecast_temperature", "score", "anomaly", "output_humidity", "output_temperature"], header);
        return [.. lines.Skip(1).Select(l => l.Split(',')).Select(f => header.Zip(f).ToDictionary(p => p.First, p => p.Second))];
    }
}
