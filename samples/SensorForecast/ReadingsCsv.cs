using System.Globalization;

namespace EdgeRuntime.Samples.SensorForecast;

/// <summary>One sensor reading of the CSV.</summary>
/// <param name="Line">1-based line number in the file.</param>
/// <param name="Stream">The mote id: readings of one mote form one stream (one infer session).</param>
/// <param name="Indoor">Whether the mote is indoors.</param>
/// <param name="Humidity">% relative humidity.</param>
/// <param name="Temperature">Degrees Celsius.</param>
/// <param name="Label">1 while an event was introduced, 0 otherwise; null when the file has no label column.</param>
internal sealed record Reading(int Line, string Stream, bool Indoor, double Humidity, double Temperature, int? Label);

/// <summary>Reads <c>mote_id,indoor,humidity,temperature[,label]</c> files (columns by header name, any order), e.g.
/// <c>samples/models/aaren-motes-heldout.csv</c>.</summary>
/// <remarks>Every problem is an <see cref="InvalidDataException"/> naming the file, the line and the column; a missing
/// file is a <see cref="FileNotFoundException"/>. Stateless.</remarks>
internal static class ReadingsCsv
{
    private static readonly string[] s_required = ["mote_id", "indoor", "humidity", "temperature"];

    /// <summary>The first <paramref name="limit"/> readings in file order, all checked before any is used.</summary>
    /// <param name="path">The CSV file.</param>
    /// <param name="limit">Most readings to read.</param>
    /// <param name="hasLabels">Whether the file has a <c>label</c> column.</param>
    public static List<Reading> Read(string path, int limit, out bool hasLabels)
    {
        var readings = new List<Reading>();
        using var reader = new StreamReader(path);
        var columns = Header(path, reader.ReadLine());
        int mote = columns["mote_id"], indoor = columns["indoor"], humidity = columns["humidity"], temperature = columns["temperature"];
        int label = columns.GetValueOrDefault("label", -1);
        hasLabels = label >= 0;
        for (int line = 2; readings.Count < limit && reader.ReadLine() is { } text; line++)
        {
            if (text.Length == 0) continue;
            string[] fields = text.Split(',');
            if (fields.Length != columns.Count)
                throw new InvalidDataException($"{path}:{line}: {fields.Length} fields, expected {columns.Count} like the header");
            string id = fields[mote].Trim();
            if (id.Length == 0) throw new InvalidDataException($"{path}:{line}: empty mote_id");
            int indoorValue = Integer(path, line, "indoor", fields[indoor]);
            if (indoorValue is not (0 or 1)) throw new InvalidDataException($"{path}:{line}: indoor is {indoorValue}, expected 0 or 1");
            int? labelValue = label < 0 ? null : Integer(path, line, "label", fields[label]);
            if (labelValue is not (null or 0 or 1)) throw new InvalidDataException($"{path}:{line}: label is {labelValue}, expected 0 or 1");
            readings.Add(new Reading(line, id, indoorValue == 1, Number(path, line, "humidity", fields[humidity]), Number(path, line, "temperature", fields[temperature]), labelValue));
        }
        return readings;
    }

    private static Dictionary<string, int> Header(string path, string? header)
    {
        if (string.IsNullOrWhiteSpace(header)) throw new InvalidDataException($"{path}: empty file, expected a header line {string.Join(',', s_required)}[,label]");
        var columns = new Dictionary<string, int>(StringComparer.Ordinal);
        string[] names = header.Split(',');
        for (int i = 0; i < names.Length; i++) columns[names[i].Trim()] = i;
        foreach (string name in s_required)
        {
            if (!columns.ContainsKey(name))
                throw new InvalidDataException($"{path}:1: no '{name}' column in the header '{header}', expected {string.Join(',', s_required)}[,label]");
        }
        return columns;
    }

    private static double Number(string path, int line, string column, string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v) ? v
            : throw new InvalidDataException($"{path}:{line}: {column} is '{text}', expected a number");

    private static int Integer(string path, int line, string column, string text) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v
            : throw new InvalidDataException($"{path}:{line}: {column} is '{text}', expected an integer");
}
