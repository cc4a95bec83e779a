namespace EdgeRuntime.Tests.Formats;

/// <summary>Temporary files and the shared golden folder for the GGUF tests.</summary>
internal sealed class GgufTestFiles : IDisposable
{
    public GgufTestFiles()
    {
        Directory = Path.Combine(Path.GetTempPath(), "edgeruntime-gguf-tests", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
    }

    public string Directory { get; }

    public string PathOf(string name) => Path.Combine(Directory, name);

    public string Write(string name, byte[] bytes)
    {
        string p = PathOf(name);
        File.WriteAllBytes(p, bytes);
        return p;
    }

    /// <summary>The repository's parent <c>shared/golden</c>, found by walking up from the test binaries.</summary>
    public static string GoldenDirectory
    {
        get
        {
            for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
                if (System.IO.Directory.Exists(Path.Combine(d.FullName, "shared", "golden"))) return Path.Combine(d.FullName, "shared", "golden");
            throw new DirectoryNotFoundException($"no shared/golden above '{AppContext.BaseDirectory}'");
        }
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
