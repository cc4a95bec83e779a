using System.Numerics.Tensors;
using System.Text;
using System.Text.Json;
using EdgeRuntime.Models.Formats.Safetensors;
using EdgeRuntime.Models.Sampling;

namespace EdgeRuntime.Models.Synthesis;

/// <summary>How a synthetic tensor is filled.</summary>
public enum SyntheticInit
{
    /// <summary>Independent normal values with mean 0 and standard deviation <see cref="SyntheticTensor.Value"/>.</summary>
    Normal,

    /// <summary>Every element equals <see cref="SyntheticTensor.Value"/> (norm weights 1, biases 0).</summary>
    Constant,
}

/// <summary>One tensor of a synthetic checkpoint: its name and shape as the published checkpoints store it, and its fill.</summary>
/// <remarks>Immutable; safe to share.</remarks>
public sealed record SyntheticTensor(string Name, long[] Shape, SyntheticInit Init, double Value)
{
    /// <summary>Elements: the product of <see cref="Shape"/>.</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>A matrix or tensor drawn from N(0, std²).</summary>
    public static SyntheticTensor Normal(string name, double std, params long[] shape) => new(name, shape, SyntheticInit.Normal, std);

    /// <summary>A tensor of one repeated value.</summary>
    public static SyntheticTensor Constant(string name, double value, params long[] shape) => new(name, shape, SyntheticInit.Constant, value);
}

/// <summary>Writes a preset's <c>config.json</c> and <c>model.safetensors</c> with seeded random weights, streaming tensor by
/// tensor so that a billion-parameter checkpoint never exists as managed arrays (one 4 MiB chunk at a time).</summary>
/// <remarks>
/// Tensor <c>i</c> draws from its own xoshiro256** stream seeded with <c>seed·1_000_003 + i</c>, normals by Box–Muller on 24-bit uniforms, so the
/// bytes depend only on the preset, the layer count and the seed. Stateless; safe from any thread.
/// </remarks>
public static class SyntheticCheckpoint
{
    /// <summary>Writes <paramref name="preset"/> with <paramref name="layers"/> layers into <paramref name="directory"/> (created if missing).</summary>
    /// <param name="preset">The shapes.</param>
    /// <param name="directory">Output checkpoint directory.</param>
    /// <param name="layers">Layer count (1 ≤ layers ≤ the preset's published count).</param>
    /// <param name="seed">Random seed.</param>
    /// <param name="progress">Receives the data bytes written so far; may be null.</param>
    /// <returns>Bytes of tensor data written.</returns>
    public static long Write(SyntheticPreset preset, string directory, int layers, ulong seed, IProgress<long>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(preset);
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "config.json"), preset.ConfigJson(layers), new UTF8Encoding(false));
        var writer = new SafetensorsWriter();
        writer.Metadata("format", "pt");
        writer.Metadata("edgefw.synth", $"{preset.Name} layers={layers} seed={seed}");
        int index = 0;
        float[] u1 = new float[SafetensorsWriter.StreamChunkFloats / 2], u2 = new float[SafetensorsWriter.StreamChunkFloats / 2];
        foreach (var tensor in preset.Tensors(layers))
        {
            var t = tensor;
            var rng = new Xoshiro256StarStar(unchecked(seed * 1_000_003UL + (ulong)index++));
            writer.AddStreamed(t.Name, t.Shape, (start, destination) =>
            {
                if (t.Init == SyntheticInit.Constant) destination.Fill((float)t.Value);
                else FillNormal(ref rng, (float)t.Value, destination, u1, u2);
            });
        }
        writer.Save(Path.Combine(directory, "model.safetensors"), progress);
        return writer.DataBytes;
    }

    /// <summary>Box–Muller, vectorised: <c>r = std·sqrt(−2 ln u1)</c>, the first half gets <c>r·cos 2πu2</c> and the second
    /// half <c>r·sin 2πu2</c> (an odd tail drops the last sine).</summary>
    private static void FillNormal(ref Xoshiro256StarStar rng, float std, Span<float> destination, float[] u1, float[] u2)
    {
        int pairs = (destination.Length + 1) / 2;
        var a = u1.AsSpan(0, pairs);
        var b = u2.AsSpan(0, pairs);
        for (int i = 0; i < pairs; i++)
        {
            ulong bits = rng.NextUInt64();
            a[i] = ((uint)(bits >> 40) + 1) * (1f / (1 << 24));   // (0, 1]
            b[i] = (uint)(bits & 0xFFFFFF) * (1f / (1 << 24));     // [0, 1)
        }
        TensorPrimitives.Log(a, a);
        TensorPrimitives.Multiply(a, -2f * std * std, a);
        TensorPrimitives.Sqrt(a, a);
        TensorPrimitives.Multiply(b, 2f * MathF.PI, b);
        var cos = destination[..pairs];
        var sin = destination[pairs..];
        TensorPrimitives.Cos(b, cos);
        TensorPrimitives.Multiply(cos, a, cos);
        TensorPrimitives.Sin(b[..sin.Length], sin);
        TensorPrimitives.Multiply(sin, a[..sin.Length], sin);
    }

    /// <summary>Writes a JSON object with <paramref name="body"/> (indented, UTF-8) and returns it as a string.</summary>
    internal static string Json(Action<Utf8JsonWriter> body)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    /// <summary>Writes an array of integers under <paramref name="name"/>.</summary>
    internal static void WriteInts(this Utf8JsonWriter w, string name, IEnumerable<int> values)
    {
        w.WriteStartArray(name);
        foreach (int v in values) w.WriteNumberValue(v);
        w.WriteEndArray();
    }
}
