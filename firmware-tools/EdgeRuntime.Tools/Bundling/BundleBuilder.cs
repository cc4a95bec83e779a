using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace EdgeRuntime.Tools.Bundling;

/// <summary>What goes into a deployable bundle.</summary>
/// <param name="Rid">Target runtime identifier: <c>linux-x64</c> or <c>linux-arm64</c>.</param>
/// <param name="Binary">The NativeAOT <c>edge-runtime</c> executable for that RID.</param>
/// <param name="Model">A GGUF file or a checkpoint directory.</param>
/// <param name="DeployDirectory">Folder holding <c>edge-runtime.service</c>, <c>install.sh</c> and <c>appsettings.json</c>.</param>
/// <param name="Output">The <c>.tar.gz</c> to write.</param>
public sealed record BundleInputs(string Rid, string Binary, string Model, string DeployDirectory, string Output);

/// <summary>One file placed in a bundle.</summary>
/// <param name="Path">Path inside the bundle's top folder.</param>
/// <param name="Bytes">Size.</param>
/// <param name="Sha256">Lower-case hex SHA-256.</param>
public sealed record BundleEntry(string Path, long Bytes, string Sha256);

/// <summary>
/// Builds <c>edge-runtime-&lt;rid&gt;.tar.gz</c>: the binary, the model, <c>appsettings.json</c> pointing at the bundled
/// model under <c>/opt/edge-runtime/models</c>, the systemd unit, <c>install.sh</c> and <c>SHA256SUMS</c>
/// (in <c>sha256sum -c</c> format, which install.sh checks before anything else).
/// </summary>
/// <remarks>Stateless; safe from any thread.</remarks>
public static class BundleBuilder
{
    /// <summary>RIDs a bundle can target.</summary>
    public static readonly IReadOnlyList<string> Rids = ["linux-x64", "linux-arm64"];

    /// <summary>Where install.sh puts things.</summary>
    public const string InstallRoot = "/opt/edge-runtime";

    /// <summary>Writes the bundle and returns its entries.</summary>
    /// <exception cref="ArgumentException">An input is missing or of the wrong kind; the message says which.</exception>
    public static IReadOnlyList<BundleEntry> Build(BundleInputs inputs, IProgress<string>? progress = null)
    {
        if (!Rids.Contains(inputs.Rid)) throw new ArgumentException($"bundle: --rid '{inputs.Rid}' is not supported; expected one of {string.Join(", ", Rids)}");
        if (!File.Exists(inputs.Binary)) throw new ArgumentException($"bundle: binary '{inputs.Binary}' not found; publish it first (see docs/deploy.md)");
        CheckBinaryArchitecture(inputs.Binary, inputs.Rid);
        bool modelIsFile = File.Exists(inputs.Model);
        if (!modelIsFile && !Directory.Exists(inputs.Model)) throw new ArgumentException($"bundle: model '{inputs.Model}' not found");
        foreach (var f in new[] { "edge-runtime.service", "install.sh", "appsettings.json" })
            if (!File.Exists(Path.Combine(inputs.DeployDirectory, f)))
                throw new ArgumentException($"bundle: '{f}' not found in deploy directory '{inputs.DeployDirectory}'");

        string top = $"edge-runtime-{inputs.Rid}";
        string modelName = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(inputs.Model)));
        var files = new List<(string Path, Func<Stream> Open, UnixFileMode Mode)>
        {
            ("edge-runtime", () => File.OpenRead(inputs.Binary), Exec),
            ("edge-runtime.service", () => File.OpenRead(Path.Combine(inputs.DeployDirectory, "edge-runtime.service")), Data),
            ("install.sh", () => File.OpenRead(Path.Combine(inputs.DeployDirectory, "install.sh")), Exec),
            ("appsettings.json", () => new MemoryStream(Settings(Path.Combine(inputs.DeployDirectory, "appsettings.json"), $"{InstallRoot}/models/{modelName}")), Data),
        };
        if (modelIsFile) files.Add(($"models/{modelName}", () => File.OpenRead(inputs.Model), Data));
        else
            foreach (var f in Directory.GetFiles(inputs.Model, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                string rel = Path.GetRelativePath(inputs.Model, f).Replace('\\', '/');
                if (Path.GetFileName(rel) == "golden.safetensors") continue;
                files.Add(($"models/{modelName}/{rel}", () => File.OpenRead(f), Data));
            }

        var entries = new List<BundleEntry>();
        string tmp = inputs.Output + ".tmp";
        using (var fs = File.Create(tmp))
        using (var gz = new GZipStream(fs, CompressionLevel.Optimal))
        using (var tar = new TarWriter(gz, TarEntryFormat.Pax))
        {
            var directories = new HashSet<string>(StringComparer.Ordinal);
            void EnsureDirectory(string dir)
            {
                int slash = dir.LastIndexOf('/');
                if (slash > 0) EnsureDirectory(dir[..slash]);
                if (directories.Add(dir)) AddDirectory(tar, dir);
            }
            EnsureDirectory($"{top}/models");
            foreach (var (path, open, mode) in files)
            {
                progress?.Report(path);
                using var src = open();
                using var buffered = new MemoryStream();
                src.CopyTo(buffered);
                buffered.Position = 0;
                string hash = Convert.ToHexStringLower(SHA256.HashData(buffered));
                buffered.Position = 0;
                string full = $"{top}/{path}";
                EnsureDirectory(full[..full.LastIndexOf('/')]);
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, full) { Mode = mode, DataStream = buffered });
                entries.Add(new BundleEntry(path, buffered.Length, hash));
            }
            var sums = new StringBuilder();
            foreach (var e in entries) sums.Append(e.Sha256).Append("  ").Append(e.Path).Append('\n');
            var sumBytes = Encoding.UTF8.GetBytes(sums.ToString());
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, $"{top}/SHA256SUMS") { Mode = Data, DataStream = new MemoryStream(sumBytes) });
        }
        File.Move(tmp, inputs.Output, overwrite: true);
        return entries;
    }

    private const UnixFileMode Data = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private const UnixFileMode Exec = Data | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    private static void AddDirectory(TarWriter tar, string path) =>
        tar.WriteEntry(new PaxTarEntry(TarEntryType.Directory, path + "/") { Mode = Exec | UnixFileMode.UserWrite });

    /// <summary>The deploy appsettings.json with <c>Model:Path</c> set to the installed model.</summary>
    private static byte[] Settings(string path, string modelPath)
    {
        var root = JsonNode.Parse(File.ReadAllText(path)) as JsonObject
            ?? throw new ArgumentException($"bundle: '{path}' is not a JSON object");
        if (root["Model"] is not JsonObject model) root["Model"] = model = new JsonObject();
        model["Path"] = modelPath;
        return Encoding.UTF8.GetBytes(root.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>Refuses an x64 binary in an arm64 bundle and vice versa (ELF e_machine).</summary>
    private static void CheckBinaryArchitecture(string binary, string rid)
    {
        Span<byte> header = stackalloc byte[20];
        using (var f = File.OpenRead(binary))
            if (f.Read(header) < 20 || header[0] != 0x7F || header[1] != (byte)'E' || header[2] != (byte)'L' || header[3] != (byte)'F')
                throw new ArgumentException($"bundle: '{binary}' is not an ELF executable");
        ushort machine = BitConverter.ToUInt16(header[18..20]);
        ushort expected = rid == "linux-arm64" ? (ushort)183 : (ushort)62; // EM_AARCH64, EM_X86_64
        if (machine != expected)
            throw new ArgumentException($"bundle: '{binary}' is built for ELF machine {machine}, expected {expected} for {rid}");
    }
}
