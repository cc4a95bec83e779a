namespace EdgeRuntime.Tests;

/// <summary>Locations of shared test inputs.</summary>
internal static class TestPaths
{
    private static readonly Lazy<string> s_shared = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared");
            if (Directory.Exists(Path.Combine(candidate, "golden"))) return candidate;
        }
        throw new DirectoryNotFoundException($"shared/golden not found above {AppContext.BaseDirectory}; clone the repository beside shared/");
    });

    /// <summary>The shared folder beside the repository (goldens, tokenizers).</summary>
    public static string Shared => s_shared.Value;

    /// <summary>A golden model directory, e.g. <c>based-tiny</c>.</summary>
    public static string Golden(string name) => Path.Combine(Shared, "golden", name);

    /// <summary>A fresh temporary directory, deleted by the caller's <see cref="TempDir"/>.</summary>
    public static TempDir NewTempDir() => new();
}

/// <summary>A temporary directory removed on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "edgert-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
