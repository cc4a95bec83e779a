// Why: the streaming side of EdgeRuntime. A sensor sends one reading at a time; the node keeps the forecaster's
// recurrent state in a named infer session (872 bytes per mote, however long the stream), so each request carries one
// step and gets the forecast of the next reading back. This client replays a recorded series that way: it normalises
// each reading with the constants of the model's config.json (the service runs the model on the numbers it is given),
// turns the output back into a forecast, prints it next to the actual next reading, and flags anomalies by the model
// card's rule (samples/models/aaren-motes.md); with labels in the CSV it ends with precision, recall, and the MAE
// against the naive last-value forecast.
//
//   dotnet run --project samples/SensorForecast -- [samples/models/aaren-motes-heldout.csv]
//       [--config samples/models/aaren-motes.config.json] [--rate 0] [--limit N] [--host 127.0.0.1] [--port 1883]
//       [--node <id>] [--mqtt311] [--timeout 30] [--out forecasts.csv] [--quiet]
using System.Diagnostics;
using System.Globalization;
using System.Text;
using EdgeRuntime.Samples.SensorForecast;

const string Usage = """
    usage: sensor-forecast [readings.csv] [options]
      readings.csv        mote_id,indoor,humidity,temperature[,label] (default samples/models/aaren-motes-heldout.csv)
      --config FILE       the forecaster's config.json (default samples/models/aaren-motes.config.json)
      --rate R            readings per second, a number >= 0 (default 0: as fast as the answers come)
      --limit N           replay only the first N readings, an integer >= 1 (default: all)
      --host H            broker host (default 127.0.0.1)
      --port P            broker port, 1..65535 (default 1883)
      --node ID           node id (default: the first online node serving a forecaster on infer)
      --mqtt5             MQTT 5 (default): response topic and correlation data as properties
      --mqtt311           MQTT 3.1.1: "replyTo" and "id" in the payload
      --timeout S         seconds to wait for the node and for each answer, an integer >= 1 (default 30)
      --out FILE          also write every reading, forecast, score and flag to this CSV file
      --quiet             print only the summary
    exit codes: 0 done, 1 failure (broker, service error, timeout, Ctrl+C), 2 usage or unusable input
    """;

string csvPath = "samples/models/aaren-motes-heldout.csv", configPath = "samples/models/aaren-motes.config.json", host = "127.0.0.1";
string? node = null, outPath = null;
double rate = 0;
int limit = int.MaxValue, port = 1883, timeoutSeconds = 30;
bool v311 = false, quiet = false, csvGiven = false;
for (int a = 0; a < args.Length; a++)
{
    string arg = args[a];
    string Value() => a + 1 < args.Length ? args[++a] : throw new ArgumentException($"{arg} needs a value");
    try
    {
        switch (arg)
        {
            case "--config": configPath = Value(); break;
            case "--rate": rate = ParseNumber(arg, Value(), 0, 1e6); break;
            case "--limit": limit = (int)ParseNumber(arg, Value(), 1, int.MaxValue, integer: true); break;
            case "--host": host = Value(); break;
            case "--port": port = (int)ParseNumber(arg, Value(), 1, 65535, integer: true); break;
            case "--node": node = Value(); break;
            case "--timeout": timeoutSeconds = (int)ParseNumber(arg, Value(), 1, 86400, integer: true); break;
            case "--out": outPath = Value(); break;
            case "--mqtt5": v311 = false; break;
            case "--mqtt311": v311 = true; break;
            case "--quiet": quiet = true; break;
            case "-h" or "--help":
                Console.Error.Write(Usage);
                return 0;
            default:
                if (arg.StartsWith('-') || csvGiven) throw new ArgumentException($"unknown argument '{arg}'");
                csvPath = arg;
                csvGiven = true;
                break;
        }
    }
    catch (ArgumentException ex)
    {
        Console.Error.WriteLine($"sensor-forecast: {ex.Message}");
        Console.Error.Write(Usage);
        return 2;
    }
}

foreach (var (what, path, how) in new[] { ("readings", csvPath, "the CSV path"), ("config", configPath, "--config") })
{
    if (!File.Exists(path))
    {
        Console.Error.WriteLine($"sensor-forecast: {what} file '{Path.GetFullPath(path)}' not found; run from the repository root, or pass {how}");
        return 2;
    }
}
ForecasterConfig config;
List<Reading> readings;
bool hasLabels;
try
{
    config = ForecasterConfig.Load(configPath);
    readings = ReadingsCsv.Read(csvPath, limit, out hasLabels);
}
catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
{
    Console.Error.WriteLine($"sensor-forecast: {ex.Message}");
    return 2;
}
if (readings.Count == 0)
{
    Console.Error.WriteLine($"sensor-forecast: '{csvPath}' has no readings");
    return 2;
}

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};
string run = Guid.NewGuid().ToString("N")[..8];
var timeout = TimeSpan.FromSeconds(timeoutSeconds);
var streams = new Dictionary<string, MoteStream>(StringComparer.Ordinal);
var metrics = new ForecastMetrics();
var clock = Stopwatch.StartNew();
StreamWriter? output = null;
int sent = 0, exitCode = 0;
bool connected = false, found = false;
try
{
    using var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
    connectTimeout.CancelAfter(timeout);
    await using var client = await InferClient.ConnectAsync(host, port, v311, run, connectTimeout.Token);
    connected = true;
    node = await client.FindNodeAsync(node, connectTimeout.Token);
    found = true;
    Console.Error.WriteLine($"sensor-forecast: node '{node}'; {readings.Count} readings of '{csvPath}' at {(rate > 0 ? $"{rate.ToString(CultureInfo.InvariantCulture)} per second" : "full speed")} over MQTT {(v311 ? "3.1.1" : "5")}");
    if (outPath is not null)
    {
        output = new StreamWriter(outPath, append: false, new UTF8Encoding(false));
        output.WriteLine("mote,reading,humidity,temperature,label,forecast_humidity,forecast_temperature,score,anomaly,output_humidity,output_temperature");
    }
    if (!quiet) Console.WriteLine($"{"mote",6} {"reading",7} {"humidity",9} {"forecast",9} {"temperature",12} {"forecast",9} {"score",8}  flag");

    var input = new float[ForecasterConfig.InputLength];
    var x = new double[2];
    clock.Restart();
    foreach (var reading in readings)
    {
        if (rate > 0)
        {
            var due = TimeSpan.FromSeconds(sent / rate) - clock.Elapsed;
            if (due > TimeSpan.Zero) await Task.Delay(due, stop.Token);
        }
        if (!streams.TryGetValue(reading.Stream, out var stream))
            streams[reading.Stream] = stream = new MoteStream(SessionName(run, reading.Stream), config.Window);
        x[0] = reading.Humidity;
        x[1] = reading.Temperature;

        // The forecast made at the previous reading meets this reading: error, windowed anomaly score, flag.
        double? score = null;
        bool flagged = false;
        if (stream.Readings > 0)
        {
            double error = 0;
            for (int c = 0; c < 2; c++) error += Math.Abs(stream.Forecast[c] - x[c]) / config.Delta[c];
            score = stream.Push(error);
            flagged = score > config.Threshold;
            metrics.Add(stream.Forecast, stream.Previous, x, flagged, reading.Label);
        }

        // One step: this reading's features in, the predicted change to the next reading out (units of delta).
        config.Features(x, stream.Previous, stream.Readings > 0, reading.Indoor, input);
        using var answer = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
        answer.CancelAfter(timeout);
        float[] change = await client.InferAsync(node, stream.Session, reset: stream.Readings == 0, input, $"{run}-{sent}", answer.Token);
        if (change.Length != ForecasterConfig.OutputLength)
            throw new InvalidDataException($"the node answered {change.Length} outputs per step, expected {ForecasterConfig.OutputLength}");

        string flag = flagged ? "ANOMALY" : "";
        string label = reading.Label is { } l ? $"  label {l}" : "";
        if (!quiet)
        {
            Console.WriteLine(stream.Readings == 0
                ? Invariant($"{reading.Stream,6} {0,7} {x[0],9:F2} {"-",9} {x[1],12:F2} {"-",9} {"-",8}  {label.TrimStart()}")
                : Invariant($"{reading.Stream,6} {stream.Readings,7} {x[0],9:F2} {stream.Forecast[0],9:F3} {x[1],12:F2} {stream.Forecast[1],9:F3} {score,8:F3}  {flag,-7}{label}"));
        }
        output?.WriteLine(stream.Readings == 0
            ? Invariant($"{reading.Stream},0,{x[0]:R},{x[1]:R},{reading.Label},,,,,{change[0]:R},{change[1]:R}")
            : Invariant($"{reading.Stream},{stream.Readings},{x[0]:R},{x[1]:R},{reading.Label},{stream.Forecast[0]:R},{stream.Forecast[1]:R},{score:R},{(flagged ? 1 : 0)},{change[0]:R},{change[1]:R}"));

        for (int c = 0; c < 2; c++)
        {
            stream.Forecast[c] = x[c] + change[c] * config.Delta[c];
            stream.Previous[c] = x[c];
        }
        stream.Readings++;
        sent++;
    }
}
catch (OperationCanceledException) when (stop.IsCancellationRequested)
{
    Console.Error.WriteLine("sensor-forecast: stopped (Ctrl+C)");
    exitCode = 1;
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine(!connected ? $"sensor-forecast: cannot reach the broker at {host}:{port} within {timeoutSeconds} s (--timeout)"
        : !found ? $"sensor-forecast: no online {(node is null ? "node" : $"node '{node}'")} serving a forecaster on infer within {timeoutSeconds} s at {host}:{port} (is edge-runtime running? --node, --timeout)"
        : $"sensor-forecast: no answer to reading {sent + 1} within {timeoutSeconds} s from node '{node}' (--timeout)");
    exitCode = 1;
}
catch (ServiceErrorException ex)
{
    Console.Error.WriteLine($"sensor-forecast: the node answered reading {sent + 1} with error {ex.Message}");
    exitCode = 1;
}
catch (MQTTnet.Exceptions.MqttCommunicationException ex)
{
    Console.Error.WriteLine($"sensor-forecast: {(connected ? "lost the broker" : "cannot reach the broker")} at {host}:{port}: {ex.Message}");
    exitCode = 1;
}
catch (Exception ex) when (ex is InvalidOperationException or InvalidDataException or IOException)
{
    Console.Error.WriteLine($"sensor-forecast: {ex.Message}");
    exitCode = 1;
}
finally
{
    output?.Dispose();
}

if (sent > 0) Summary();
return exitCode;

void Summary()
{
    double seconds = clock.Elapsed.TotalSeconds;
    Console.WriteLine(Invariant($"{sent} readings of {streams.Count} stream(s) ({string.Join(", ", streams.Select(s => $"mote {s.Key}: {s.Value.Readings}"))}), {metrics.Forecasts} forecasts, {seconds:F1} s ({sent / seconds:F0} readings/s)"));
    if (metrics.Forecasts == 0) return;
    double model = (metrics.ModelMae(0) + metrics.ModelMae(1)) / 2, last = (metrics.LastValueMae(0) + metrics.LastValueMae(1)) / 2;
    Console.WriteLine(Invariant($"forecast MAE:   humidity {metrics.ModelMae(0):F5} % RH, temperature {metrics.ModelMae(1):F5} °C, mean {model:F5}"));
    Console.WriteLine(Invariant($"last-value MAE: humidity {metrics.LastValueMae(0):F5} % RH, temperature {metrics.LastValueMae(1):F5} °C, mean {last:F5}; forecast {100 * (1 - model / last):F2}% better"));
    string rule = Invariant($"windowed score over {config.Window} readings > {config.Threshold:F4}");
    Console.WriteLine(hasLabels
        ? Invariant($"anomalies ({rule}): {metrics.Flagged} flagged; precision {metrics.Precision:F3}, recall {metrics.Recall:F3}, F1 {metrics.F1:F3} (TP {metrics.TruePositives}, FP {metrics.FalsePositives}, FN {metrics.FalseNegatives})")
        : Invariant($"anomalies ({rule}): {metrics.Flagged} flagged (no label column: no precision or recall)"));
}

static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

static double ParseNumber(string option, string text, double min, double max, bool integer = false)
{
    if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !(value >= min && value <= max) || (integer && value != Math.Floor(value)))
        throw new ArgumentException($"{option} is '{text}', expected {(integer ? "an integer" : "a number")} in [{min.ToString(CultureInfo.InvariantCulture)}, {max.ToString(CultureInfo.InvariantCulture)}]");
    return value;
}

// A valid session id (1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit) per run and mote.
static string SessionName(string run, string mote)
{
    var name = new StringBuilder($"sf-{run}-");
    foreach (char c in mote) name.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '_');
    return name.Length <= 64 ? name.ToString() : name.ToString(0, 64);
}
