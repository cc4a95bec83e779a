using System.Buffers.Binary;
using EdgeRuntime.Models;
using EdgeRuntime.Models.Sessions;

namespace EdgeRuntime.Tests.Sessions;

public sealed class SessionSnapshotTests
{
    private static SnapshotIdentity Identity(byte fill = 1, string family = "based", string hidden = "128") =>
        new(Enumerable.Repeat(fill, 32).ToArray(), family, [new("hidden_size", hidden), new("layers", "6")], StateLength: 10, ExtraLength: 4);

    private static float[] Payload()
    {
        var random = new Random(42);
        return [.. Enumerable.Range(0, 14).Select(_ => (float)random.NextDouble())];
    }

    [Fact]
    public void Crc32_MatchesTheStandardCheckValue() => Assert.Equal(0xCBF43926u, Crc32.Compute("123456789"u8));

    [Fact]
    public void WriteThenRead_RestoresPayloadPositionAndPendingToken()
    {
        using var dir = TestPaths.NewTempDir();
        string path = dir.File("s.snap");
        var payload = Payload();
        SessionSnapshot.Write(path, Identity(), new SnapshotState(37, 412), payload);

        var read = new float[14];
        var state = SessionSnapshot.Read(path, Identity(), read);
        Assert.Equal(payload, read);
        Assert.Equal(new SnapshotState(37, 412), state);
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp-*"));
        Assert.Equal("EDGESNAP"u8.ToArray(), File.ReadAllBytes(path)[..8]);
    }

    [Theory]
    [InlineData("fingerprint")]
    [InlineData("family")]
    [InlineData("dimension")]
    public void Read_RefusesASnapshotOfAnotherModel(string difference)
    {
        using var dir = TestPaths.NewTempDir();
        string path = dir.File("s.snap");
        SessionSnapshot.Write(path, Identity(), new SnapshotState(1, -1), Payload());
        var other = difference switch
        {
            "fingerprint" => Identity(fill: 2),
            "family" => Identity(family: "transnormer"),
            _ => Identity(hidden: "256"),
        };
        var ex = Assert.Throws<SessionSnapshotException>(() => SessionSnapshot.Read(path, other, new float[14]));
        Assert.Contains(path, ex.Message);
        Assert.Contains(difference == "dimension" ? "dimension 'hidden_size'" : difference == "family" ? "model family" : "model fingerprint", ex.Message);
    }

    [Fact]
    public void Read_RefusesADifferentStateLength()
    {
        using var dir = TestPaths.NewTempDir();
        string path = dir.File("s.snap");
        SessionSnapshot.Write(path, Identity(), new SnapshotState(1, -1), Payload());
        var longer = Identity() with { StateLength = 11 };
        var ex = Assert.Throws<SessionSnapshotException>(() => SessionSnapshot.Read(path, longer, new float[15]));
        Assert.Contains("state length", ex.Message);
    }

    [Fact]
    public void Read_DetectsEveryFlippedByte()
    {
        using var dir = TestPaths.NewTempDir();
        string path = dir.File("s.snap");
        SessionSnapshot.Write(path, Identity(), new SnapshotState(5, 3), Payload());
        byte[] good = File.ReadAllBytes(path);
        for (int i = 0; i < good.Length; i++)
        {
            byte[] bad = (byte[])good.Clone();
            bad[i] ^= 0x01;
            File.WriteAllBytes(path, bad);
            Assert.Throws<SessionSnapshotException>(() => SessionSnapshot.Read(path, Identity(), new float[14]));
        }
    }

    [Fact]
    public void Read_DetectsTruncationAndPadding()
    {
        using var dir = TestPaths.NewTempDir();
        string path = dir.File("s.snap");
        SessionSnapshot.Write(path, Identity(), new SnapshotState(5, 3), Payload());
        byte[] good = File.ReadAllBytes(path);
        foreach (int length in new[] { 0, 7, 16, 80, good.Length - 1 })
        {
            File.WriteAllBytes(path, good[..length]);
            Assert.Throws<SessionSnapshotException>(() => SessionSnapshot.Read(path, Identity(), new float[14]));
        }
        File.WriteAllBytes(path, [.. good, 0]);
        Assert.Contains("file length", Assert.Throws<SessionSnapshotException>(() => SessionSnapshot.Read(path, Identity(), new float[14])).Message);
    }

    [Fact]
    public void Read_RefusesANewerFormatVersion()
    {
        using var dir = TestPaths.NewTempDir();
        string path = dir.File("s.snap");
        SessionSnapshot.Write(path, Identity(), new SnapshotState(5, 3), Payload());
        byte[] bytes = File.ReadAllBytes(path);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), 2);
        File.WriteAllBytes(path, bytes);
        var ex = Assert.Throws<SessionSnapshotException>(() => SessionSnapshot.Read(path, Identity(), new float[14]));
        Assert.Contains("format version", ex.Message);
        Assert.Contains("newer", ex.Message);
    }

    [Fact]
    public void Read_RefusesAFileThatIsNotASnapshot()
    {
        using var dir = TestPaths.NewTempDir();
        string path = dir.File("s.snap");
        File.WriteAllText(path, new string('x', 200));
        Assert.Contains("not a session snapshot", Assert.Throws<SessionSnapshotException>(() => SessionSnapshot.Read(path, Identity(), new float[14])).Message);
    }

    [Fact]
    public void Write_ReplacesAnExistingSnapshotAtomically()
    {
        using var dir = TestPaths.NewTempDir();
        string path = dir.File("s.snap");
        SessionSnapshot.Write(path, Identity(), new SnapshotState(1, -1), Payload());
        var second = Payload().Select(x => x + 1).ToArray();
        SessionSnapshot.Write(path, Identity(), new SnapshotState(2, 9), second);
        var read = new float[14];
        Assert.Equal(new SnapshotState(2, 9), SessionSnapshot.Read(path, Identity(), read));
        Assert.Equal(second, read);
        Assert.Single(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void Fingerprint_IsStable_AndChangesWithTheWeights()
    {
        string golden = TestPaths.Golden("based-tiny");
        byte[] first = ModelFingerprint.Compute(golden);
        Assert.Equal(first, ModelFingerprint.Compute(golden));
        Assert.NotEqual(first, ModelFingerprint.Compute(TestPaths.Golden("transnormer-tiny")));

        using var dir = TestPaths.NewTempDir();
        // The fingerprint covers the files the loader reads (config.json, model.safetensors), not golden.safetensors.
        File.Copy(Path.Combine(golden, "config.json"), dir.File("config.json"));
        byte[] weights = File.ReadAllBytes(Path.Combine(golden, "model.safetensors"));
        File.WriteAllBytes(dir.File("model.safetensors"), weights);
        Assert.Equal(first, ModelFingerprint.Compute(dir.Path));
        // Another checkpoint of the same shape: every weight changed slightly (as retraining would).
        for (int i = weights.Length - 4; i > weights.Length / 2; i -= 4) weights[i] ^= 0x01;
        File.WriteAllBytes(dir.File("model.safetensors"), weights);
        Assert.NotEqual(first, ModelFingerprint.Compute(dir.Path));
    }

    [Fact]
    public void LanguageSession_SnapshotThroughAFile_ContinuesBitForBit()
    {
        using var model = (ILanguageModel)ModelLoader.Load(TestPaths.Golden("based-tiny"), new ModelOptions { Threads = 1 });
        var identity = new SnapshotIdentity(ModelFingerprint.Compute(TestPaths.Golden("based-tiny")), model.Info.Family, model.Info.Dimensions, model.StateLength, model.LogitsLength);
        using var dir = TestPaths.NewTempDir();
        using var a = new InferenceSession(model);
        a.Append([3, 1, 4, 1, 5]);
        var payload = new float[a.SnapshotLength];
        a.Snapshot(payload);
        SessionSnapshot.Write(dir.File("a.snap"), identity, new SnapshotState(a.Position, -1), payload);

        using var b = new InferenceSession(model);
        var read = new float[b.SnapshotLength];
        var state = SessionSnapshot.Read(dir.File("a.snap"), identity, read);
        b.Restore(read);
        Assert.Equal(5, state.Position);
        Assert.Equal(5, b.Position);
        a.Step(9);
        b.Step(9);
        Assert.Equal(a.Logits.ToArray(), b.Logits.ToArray());
    }
}
