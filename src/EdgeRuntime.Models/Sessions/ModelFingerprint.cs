using System.Security.Cryptography;
using System.Text;
using EdgeRuntime.Models.Formats.Safetensors;

namespace EdgeRuntime.Models.Sessions;

/// <summary>A cheap, stable SHA-256 fingerprint of a model's files, so a state snapshot can name the model that wrote it.</summary>
/// <remarks>
/// Hashes, for each model file the loader reads (a directory: <c>config.json</c>, then the weight files chosen by
/// <see cref="SafetensorsWeightSource.ModelFiles"/>; a single file such as a GGUF: that file): its name, its length, its first and last 64 KiB (config, safetensors header and tensor
/// table, GGUF metadata) and 64 evenly spaced 4 KiB blocks of weights. Reading about 400 KiB per file keeps loading
/// fast for large models; any change of config, tensor table, file size or of the sampled weights (a retrained or
/// re-quantised checkpoint changes essentially all of them) gives another fingerprint. It is an identity check against
/// mistakes, not a defence against a crafted file. Stateless; safe from any thread.
/// </remarks>
public static class ModelFingerprint
{
    private const int EdgeBytes = 64 * 1024;
    private const int SampleBytes = 4096;
    private const int SampleCount = 64;

    /// <summary>Bytes of a fingerprint.</summary>
    public const int Length = 32;

    /// <summary>Fingerprints the model at <paramref name="path"/> (a checkpoint directory or a single model file).</summary>
    /// <exception cref="FileNotFoundException">Nothing at <paramref name="path"/>, or a directory without config.json.</exception>
    /// <exception cref="Formats.ModelFormatException">A directory without weight files, or with a malformed shard index.</exception>
    public static byte[] Compute(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string[] files;
        if (Directory.Exists(path))
        {
            // The files the loader reads: config.json and the checkpoint's weight files (by the loader's own rule).
            string config = Path.Combine(path, "config.json");
            if (!File.Exists(config)) throw new FileNotFoundException($"fingerprint: no config.json in '{Path.GetFullPath(path)}'", config);
            files = [config, .. SafetensorsWeightSource.ModelFiles(path)];
        }
        else if (File.Exists(path))
        {
            files = [path];
        }
        else
        {
            throw new FileNotFoundException($"fingerprint: nothing at '{Path.GetFullPath(path)}'", path);
        }

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[EdgeBytes];
        Span<byte> number = stackalloc byte[8];
        foreach (string file in files)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(Path.GetFileName(file)));
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.RandomAccess);
            long length = stream.Length;
            BitConverter.TryWriteBytes(number, length);
            hash.AppendData(number);
            AppendRange(hash, stream, 0, (int)Math.Min(EdgeBytes, length), buffer);
            if (length > EdgeBytes) AppendRange(hash, stream, length - Math.Min(EdgeBytes, length - EdgeBytes), (int)Math.Min(EdgeBytes, length - EdgeBytes), buffer);
            long middle = length - 2L * EdgeBytes;
            if (middle > SampleBytes)
            {
                long stride = middle / SampleCount;
                for (int i = 0; i < SampleCount; i++)
                {
                    long offset = EdgeBytes + i * stride;
                    AppendRange(hash, stream, offset, (int)Math.Min(SampleBytes, length - EdgeBytes - offset), buffer);
                }
            }
        }
        return hash.GetHashAndReset();
    }

    /// <summary>Lower-case hex of a fingerprint, for messages and status.</summary>
    public static string ToHex(ReadOnlySpan<byte> fingerprint) => Convert.ToHexStringLower(fingerprint);

    private static void AppendRange(IncrementalHash hash, FileStream stream, long offset, int count, byte[] buffer)
    {
        if (count <= 0) return;
        stream.Position = offset;
        stream.ReadExactly(buffer, 0, count);
        hash.AppendData(buffer, 0, count);
    }
}
