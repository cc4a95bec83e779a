namespace EdgeRuntime.Models.Formats;

/// <summary>Base of every error raised while reading a model, config or golden file.</summary>
/// <remarks>
/// Messages follow <c>"&lt;component&gt;: &lt;what&gt; '&lt;name&gt;': expected &lt;x&gt;, got &lt;y&gt;[; hint]"</c> and always name the file.
/// </remarks>
public abstract class ModelLoadException : Exception
{
    /// <summary>Creates the exception.</summary>
    protected ModelLoadException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>The bytes of a model file are malformed: header, offsets, dtypes, shapes, missing tensors.</summary>
public sealed class ModelFormatException : ModelLoadException
{
    /// <summary>Creates the exception.</summary>
    public ModelFormatException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>A configuration (config.json or GGUF metadata) is missing a key, has a wrong-typed key, or an unsupported value.</summary>
public sealed class ModelConfigException : ModelLoadException
{
    /// <summary>Creates the exception.</summary>
    public ModelConfigException(string message, Exception? inner = null) : base(message, inner) { }
}
