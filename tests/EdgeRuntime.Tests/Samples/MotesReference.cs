using System.Globalization;
using System.Text.Json;
using EdgeRuntime.Models;
using EdgeRuntime.Models.Sessions;

namespace EdgeRuntime.Tests.Samples;

/// <summary>The sample forecaster computed directly, in this process: its constants read from
/// samples/models/aaren-motes.config.json, the features and the anomaly rule written out from the model card
/// (samples/models/aaren-motes.md) and firmware-tools/training/train_aaren.py, and aaren-motes.gguf run through
/// <see cref="ModelLoader"/>. The reference the service and the clients are checked against.</summary>
internal sealed class MotesReference : IDisposable
{
    private readonly ISequenceModel _model;

    public MotesReference()
    {
        using var config = JsonDocument.Parse(File.ReadAllBytes(TestPaths.SampleModel("aaren-motes.config.json")));
        var pre = config.RootElement.GetProperty("preprocessing");
        Mean = Doubles(pre, "mean");
        Std = Doubles(pre, "std");
        Delta = Doubles(pre, "delta");
        Clip = pre.GetProperty("clip_changes").GetDouble();
        var anomaly = config.RootElement.GetProperty("anomaly");
        Window = anomaly.GetProperty("window").GetInt32();
        Threshold = anomaly.GetProperty("threshold").GetDouble();
        _model = (ISequenceModel)ModelLoader.Load(TestPaths.SampleModel("aaren-motes.gguf"), new ModelOptions { Threads = 1 });
        Assert.Equal(5, _model.InputLength);
        Assert.Equal(2, _model.OutputLength);
    }

    public double[] Mean { get; }

    public double[] Std { get; }

    public double[] Delta { get; }

    public double Clip { get; }

    public int Window { get; }

    public double Threshold { get; }

    /// <summary>Model inputs (n × 5) of one stream's readings (n × [humidity, temperature]); the change is 0 at the first.</summary>
    public float[] Features(IReadOnlyList<double[]> readings, bool indoor)
    {
        var inputs = new float[readings.Count * 5];
        for (int t = 0; t < readings.Count; t++)
        {
            for (int c = 0; c < 2; c++)
            {
                double change = t == 0 ? 0 : readings[t][c] - readings[t - 1][c];
                inputs[t * 5 + c] = (float)((readings[t][c] - Mean[c]) / Std[c]);
                inputs[t * 5 + 2 + c] = (float)Math.Clamp(change / Delta[c], -Clip, Clip);
            }
            inputs[t * 5 + 4] = indoor ? 1 : 0;
        }
        return inputs;
    }

    /// <summary>The model's outputs (steps × 2) for <paramref name="inputs"/> from a fresh state.</summary>
    public float[] Run(float[] inputs)
    {
        var state = new float[_model.StateLength];
        var outputs = new float[inputs.Length / 5 * 2];
        using var scratch = _model.CreateScratch();
        _model.InitState(state);
        _model.Prefill(inputs, state, outputs, scratch);
        return outputs;
    }

    /// <summary>The windowed anomaly score of every reading of a stream (NaN at the first, which has no forecast):
    /// mean over the last <see cref="Window"/> forecasts of Σ_c |forecast_c − reading_c| / delta_c, forecast_c = previous reading_c + output_c · delta_c.</summary>
    public double[] Scores(IReadOnlyList<double[]> readings, float[] outputs)
    {
        var error = new double[readings.Count];
        var score = new double[readings.Count];
        score[0] = double.NaN;
        for (int t = 1; t < readings.Count; t++)
        {
            for (int c = 0; c < 2; c++)
                error[t] += Math.Abs(readings[t - 1][c] + outputs[(t - 1) * 2 + c] * Delta[c] - readings[t][c]) / Delta[c];
            int from = Math.Max(1, t - Window + 1);
            double sum = 0;
            for (int k = from; k <= t; k++) sum += error[k];
            score[t] = sum / (t - from + 1);
        }
        return score;
    }

    /// <summary>Raw lines of samples/models/aaren-motes-heldout.csv (header first).</summary>
    public static string[] HeldOutLines() => File.ReadAllLines(TestPaths.SampleModel("aaren-motes-heldout.csv"));

    /// <summary>Parses CSV lines (no header) of one or more motes into streams, in order of first appearance.</summary>
    public static List<(string Mote, bool Indoor, List<double[]> Readings, List<int> Labels)> Streams(IEnumerable<string> lines)
    {
        var streams = new List<(string Mote, bool Indoor, List<double[]> Readings, List<int> Labels)>();
        foreach (string line in lines)
        {
            string[] f = line.Split(',');
            int i = streams.FindIndex(s => s.Mote == f[0]);
            if (i < 0)
            {
                streams.Add((f[0], f[1] == "1", [], []));
                i = streams.Count - 1;
            }
            streams[i].Readings.Add([double.Parse(f[2], CultureInfo.InvariantCulture), double.Parse(f[3], CultureInfo.InvariantCulture)]);
            streams[i].Labels.Add(int.Parse(f[4], CultureInfo.InvariantCulture));
        }
        return streams;
    }

    public void Dispose() => _model.Dispose();

    private static double[] Doubles(JsonElement e, string key) => [.. e.GetProperty(key).EnumerateArray().Select(x => x.GetDouble())];
}
