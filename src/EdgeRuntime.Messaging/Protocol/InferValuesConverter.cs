using System.Text.Json;
using System.Text.Json.Serialization;

namespace EdgeRuntime.Messaging.Protocol;

/// <summary>Reads <see cref="InferRequest.Values"/>: a flat list of numbers (returned as one row) or a list of lists of numbers.</summary>
/// <remarks>Hand-written so it stays AOT-safe; any other shape is a <see cref="JsonException"/> naming what was found. Stateless.</remarks>
internal sealed class InferValuesConverter : JsonConverter<float[][]>
{
    public override float[][] Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartArray) throw new JsonException($"expected a list of numbers or a list of lists, got {Describe(reader.TokenType)}");
        var rows = new List<float[]>();
        var flat = new List<float>();
        bool? nested = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType == JsonTokenType.Number)
            {
                if (nested == true) throw new JsonException("expected every element to be a list (one per step), got a number");
                nested = false;
                flat.Add(ReadNumber(ref reader));
            }
            else if (reader.TokenType == JsonTokenType.StartArray)
            {
                if (nested == false) throw new JsonException("expected every element to be a number, got a list");
                nested = true;
                var row = new List<float>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.Number) throw new JsonException($"expected a number, got {Describe(reader.TokenType)}");
                    row.Add(ReadNumber(ref reader));
                }
                rows.Add([.. row]);
            }
            else
            {
                throw new JsonException($"expected a number or a list of numbers, got {Describe(reader.TokenType)}");
            }
        }
        return nested == false ? [[.. flat]] : [.. rows];
    }

    public override void Write(Utf8JsonWriter writer, float[][] value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        foreach (float[] row in value)
        {
            writer.WriteStartArray();
            foreach (float x in row) writer.WriteNumberValue(x);
            writer.WriteEndArray();
        }
        writer.WriteEndArray();
    }

    private static float ReadNumber(ref Utf8JsonReader reader)
    {
        if (!reader.TryGetDouble(out double value) || !double.IsFinite(value) || Math.Abs(value) > float.MaxValue)
            throw new JsonException("expected a finite number within the float range");
        return (float)value;
    }

    private static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.String => "a string",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        JsonTokenType.StartObject => "an object",
        _ => token.ToString(),
    };
}
