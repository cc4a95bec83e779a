using System.Text.Json;

namespace EdgeRuntime.Samples.SensorForecast;

/// <summary>What the client needs from the forecaster's <c>config.json</c> (<c>samples/models/aaren-motes.config.json</c>):
/// the input normalisation, the output scale and the anomaly rule (the GGUF keeps only the model's own keys).</summary>
/// <remarks>
/// Features of a reading (samples/models/aaren-motes.md, firmware-tools/training/train_aaren.py <c>features</c>):
/// <c>[(h - mean0)/std0, (t - mean1)/std1, clip((h - h_prev)/delta0, ±clip), clip((t - t_prev)/delta1, ±clip), indoor]</c>,
/// the changes being <c>first_step_change</c> at a stream's first reading. Outputs are the predicted change to the next
/// reading in units of delta: <c>forecast_c = reading_c + output_c · delta_c</c>. Immutable.
/// </remarks>
internal sealed record ForecasterConfig(double[] Mean, double[] Std, double[] Delta, double ClipChanges, double FirstStepChange, int Window, double Threshold)
{
    /// <summary>Numbers per input step the feature layout above produces.</summary>
    public const int InputLength = 5;

    /// <summary>Numbers per output step (humidity, temperature).</summary>
    public const int OutputLength = 2;

    /// <summary>Reads the config; throws <see cref="InvalidDataException"/> naming the file and the key on anything missing or wrong.</summary>
    public static ForecasterConfig Load(string path)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"config '{path}' is not valid JSON: {ex.Message}", ex);
        }
        using (doc)
        {
            var root = doc.RootElement;
            int inputDim = Int(root, path, "input_dim"), outputDim = Int(root, path, "output_dim");
            if (inputDim != InputLength || outputDim != OutputLength)
                throw new InvalidDataException($"config '{path}': input_dim {inputDim} and output_dim {outputDim}, expected {InputLength} and {OutputLength} (this client's features: humidity, temperature, their changes, indoor)");
            var pre = Object(root, path, "preprocessing");
            var anomaly = Object(root, path, "anomaly");
            var config = new ForecasterConfig(
                Pair(pre, path, "preprocessing.mean"),
                Pair(pre, path, "preprocessing.std"),
                Pair(pre, path, "preprocessing.delta"),
                Number(pre, path, "preprocessing.clip_changes"),
                Number(pre, path, "preprocessing.first_step_change"),
                Int(anomaly, path, "anomaly.window"),
                Number(anomaly, path, "anomaly.threshold"));
            if (config.Std.Any(s => s <= 0) || config.Delta.Any(d => d <= 0) || config.ClipChanges <= 0 || config.Window < 1)
                throw new InvalidDataException($"config '{path}': std, delta and clip_changes must be > 0 and anomaly.window >= 1");
            return config;
        }
    }

    /// <summary>Writes the model inputs of reading <paramref name="x"/> (humidity, temperature) given the stream's previous reading (null at its first).</summary>
    public void Features(ReadOnlySpan<double> x, ReadOnlySpan<double> previous, bool hasPrevious, bool indoor, Span<float> destination)
    {
        for (int c = 0; c < 2; c++)
        {
            destination[c] = (float)((x[c] - Mean[c]) / Std[c]);
            destination[2 + c] = (float)(hasPrevious ? Math.Clamp((x[c] - previous[c]) / Delta[c], -ClipChanges, ClipChanges) : FirstStepChange);
        }
        destination[4] = indoor ? 1f : 0f;
    }

    private static JsonElement Object(JsonElement parent, string path, string key) =>
        parent.TryGetProperty(key, out var e) && e.ValueKind == JsonValueKind.Object ? e
            : throw new InvalidDataException($"config '{path}': missing object '{key}'");

    private static JsonElement Value(JsonElement parent, string path, string key) =>
        parent.TryGetProperty(key[(key.LastIndexOf('.') + 1)..], out var e) ? e : throw new InvalidDataException($"config '{path}': missing '{key}'");

    private static double Number(JsonElement parent, string path, string key)
    {
        var e = Value(parent, path, key);
        return e.ValueKind == JsonValueKind.Number && double.IsFinite(e.GetDouble()) ? e.GetDouble()
            : throw new InvalidDataException($"config '{path}': '{key}' is {e.ValueKind}, expected a number");
    }

    private static int Int(JsonElement parent, string path, string key)
    {
        var e = Value(parent, path, key);
        return e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int v) ? v
            : throw new InvalidDataException($"config '{path}': '{key}' is {e.GetRawText()}, expected an integer");
    }

    private static double[] Pair(JsonElement parent, string path, string key)
    {
        var e = Value(parent, path, key);
        if (e.ValueKind != JsonValueKind.Array || e.GetArrayLength() != 2 || e.EnumerateArray().Any(x => x.ValueKind != JsonValueKind.Number))
            throw new InvalidDataException($"config '{path}': '{key}' is {e.GetRawText()}, expected two numbers (humidity, temperature)");
        return [.. e.EnumerateArray().Select(x => x.GetDouble())];
    }
}
