using EdgeRuntime.Core.Tensors;

namespace EdgeRuntime.Models.Formats;

/// <summary>Where a model's tensors come from (a checkpoint directory's safetensors, or a GGUF file), with shape checks.</summary>
/// <remarks>
/// Every getter checks the stored shape against the shape the config implies and throws a <see cref="ModelFormatException"/>
/// naming the file, the tensor and both shapes. Matrices are returned in place where the stored type is usable directly;
/// anything converted is owned by the source, so the source must outlive the model (the model disposes it).
/// Not thread-safe while loading; the returned weights are immutable and shareable.
/// </remarks>
public abstract class WeightSource : IDisposable
{
    private long _parameters, _bytes;

    /// <summary>The file or directory, for messages.</summary>
    public abstract string Location { get; }

    /// <summary>Whether a tensor exists.</summary>
    public abstract bool Contains(string name);

    /// <summary>Stored shape, outermost first (PyTorch order), or null if absent.</summary>
    public abstract long[]? ShapeOf(string name);

    /// <summary>Parameters handed out so far (for <c>inspect</c>).</summary>
    public long ParameterCount => _parameters;

    /// <summary>Stored bytes of the tensors handed out so far.</summary>
    public long WeightBytes => _bytes;

    /// <summary>A <c>(rows, cols)</c> matrix, as PyTorch's <c>nn.Linear.weight</c> stores it.</summary>
    /// <param name="name">Tensor name.</param>
    /// <param name="rows">Expected rows (output features).</param>
    /// <param name="cols">Expected columns (input features).</param>
    /// <param name="hint">Where the expectation comes from, e.g. <c>"hidden_size 128 from config"</c>.</param>
    public WeightMatrix Matrix(string name, int rows, int cols, string? hint = null)
    {
        CheckShape(name, [rows, cols], hint);
        var m = CreateMatrix(name, rows, cols);
        _parameters += (long)rows * cols;
        _bytes += StoredBytes(name);
        return m;
    }

    /// <summary>A small tensor copied out as f32 (norm weights, biases, conv kernels, queries), any rank.</summary>
    public float[] Floats(string name, long[] shape, string? hint = null)
    {
        CheckShape(name, shape, hint);
        long count = shape.Aggregate(1L, (a, b) => a * b);
        var data = new float[count];
        ReadF32(name, data);
        _parameters += count;
        _bytes += StoredBytes(name);
        return data;
    }

    /// <summary>A vector of <paramref name="length"/> floats.</summary>
    public float[] Vector(string name, int length, string? hint = null) => Floats(name, [length], hint);

    /// <summary>The optional bias of a linear layer: empty when the config says there is none, checked when present.</summary>
    public float[] OptionalVector(string name, int length, bool expected, string? hint = null)
    {
        if (!expected)
        {
            if (Contains(name)) throw Error($"tensor '{name}' is present but the config says this layer has no bias");
            return [];
        }
        return Vector(name, length, hint);
    }

    /// <summary>Creates an error naming the source.</summary>
    public abstract ModelFormatException Error(string what);

    /// <summary>Creates the matrix view after the shape check.</summary>
    protected abstract WeightMatrix CreateMatrix(string name, int rows, int cols);

    /// <summary>Decodes the tensor into floats after the shape check.</summary>
    protected abstract void ReadF32(string name, Span<float> destination);

    /// <summary>Bytes the tensor occupies in storage.</summary>
    protected abstract long StoredBytes(string name);

    private void CheckShape(string name, long[] expected, string? hint)
    {
        var actual = ShapeOf(name) ?? throw Error($"tensor '{name}' is missing");
        if (!actual.AsSpan().SequenceEqual(expected))
            throw Error($"tensor '{name}' has shape [{string.Join(", ", actual)}], expected [{string.Join(", ", expected)}]" + (hint is null ? "" : $" ({hint})"));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases mappings and converted buffers.</summary>
    protected abstract void Dispose(bool disposing);
}
