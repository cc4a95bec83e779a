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

    private static readonly Lazy<string> s_repository = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "EdgeRuntime.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException($"the repository root (EdgeRuntime.sln) not found above {AppContext.BaseDirectory}");
    });

    /// <summary>The repository root (where README.md's commands run).</summary>
    public static string Repository => s_repository.Value;

    /// <summary>A file shipped in <c>samples/models</c>, e.g. <c>aaren-motes.gguf</c>.</summary>
    public static string SampleModel(string name) => Path.Combine(Repository, "samples", "models", name);

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
