namespace EdgeRuntime.Samples.SensorForecast;

/// <summary>One mote's stream: its infer session, its last reading, the forecast made for its next reading, and the
/// anomaly score window (samples/models/aaren-motes.md, "Anomaly score").</summary>
/// <remarks>
/// The score of reading t+1 is <c>Σ_c |forecast_c − reading_c| / delta_c</c> (forecast made at reading t), averaged over
/// the last <c>window</c> such scores of the stream (fewer at its start); the reading is flagged when the average is
/// above the threshold (firmware-tools/training/train_aaren.py <c>scores</c>). Not thread-safe.
/// </remarks>
internal sealed class MoteStream(string session, int window)
{
    private readonly double[] _scores = new double[window];
    private int _count;

    /// <summary>The infer session that carries this stream's recurrent state.</summary>
    public string Session { get; } = session;

    /// <summary>Readings sent so far.</summary>
    public int Readings { get; set; }

    /// <summary>The last reading (humidity, temperature); valid when <see cref="Readings"/> &gt; 0.</summary>
    public double[] Previous { get; } = new double[2];

    /// <summary>The forecast of the next reading; valid when <see cref="Readings"/> &gt; 0.</summary>
    public double[] Forecast { get; } = new double[2];

    /// <summary>Adds the score of one forecast reading and returns the windowed mean.</summary>
    public double Push(double score)
    {
        _scores[_count % _scores.Length] = score;
        _count++;
        int n = Math.Min(_count, _scores.Length);
        double sum = 0;
        for (int i = 0; i < n; i++) sum += _scores[i];
        return sum / n;
    }
}

/// <summary>Totals over every forecast: MAE of the forecaster and of the last-value baseline per channel, and the
/// anomaly flags against the labels (point level, as on the model card).</summary>
/// <remarks>Not thread-safe.</remarks>
internal sealed class ForecastMetrics
{
    private readonly double[] _model = new double[2];
    private readonly double[] _lastValue = new double[2];

    public long Forecasts { get; private set; }

    public int Flagged { get; private set; }

    public int TruePositives { get; private set; }

    public int FalsePositives { get; private set; }

    public int FalseNegatives { get; private set; }

    public int Labelled { get; private set; }

    /// <summary>Adds one forecast reading.</summary>
    public void Add(ReadOnlySpan<double> forecast, ReadOnlySpan<double> previous, ReadOnlySpan<double> actual, bool flagged, int? label)
    {
        for (int c = 0; c < 2; c++)
        {
            _model[c] += Math.Abs(forecast[c] - actual[c]);
            _lastValue[c] += Math.Abs(previous[c] - actual[c]);
        }
        Forecasts++;
        if (flagged) Flagged++;
        if (label is not { } l) return;
        Labelled++;
        if (flagged && l == 1) TruePositives++;
        else if (flagged) FalsePositives++;
        else if (l == 1) FalseNegatives++;
    }

    /// <summary>Mean absolute error of channel <paramref name="c"/> (0 humidity, 1 temperature).</summary>
    public double ModelMae(int c) => _model[c] / Forecasts;

    /// <summary>Mean absolute error of the last-value forecast.</summary>
    public double LastValueMae(int c) => _lastValue[c] / Forecasts;

    public double Precision => TruePositives + FalsePositives == 0 ? 0 : (double)TruePositives / (TruePositives + FalsePositives);

    public double Recall => TruePositives + FalseNegatives == 0 ? 0 : (double)TruePositives / (TruePositives + FalseNegatives);

    public double F1 => Precision + Recall == 0 ? 0 : 2 * Precision * Recall / (Precision + Recall);
}
