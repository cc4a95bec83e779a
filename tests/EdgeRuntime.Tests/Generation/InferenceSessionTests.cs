using EdgeRuntime.Models.Sessions;

namespace EdgeRuntime.Tests.Generation;

public class InferenceSessionTests
{
    [Fact]
    public void AppendAndStep_ContinueOneSequence_When_Mixed()
    {
        var model = new ScriptedModel(16, [5, 6, 7], scriptStart: 3);
        using var session = new InferenceSession(model);
        Assert.False(session.HasLogits);
        session.Append([1, 2, 3]);
        Assert.Equal(3, session.Position);
        Assert.True(session.HasLogits);
        Assert.Equal(5, Argmax(session.Logits[..16]));
        session.Step(5);
        Assert.Equal(6, Argmax(session.Logits[..16]));
        session.Append([]);
        Assert.Equal(4, session.Position);
        Assert.Equal(new[] { 1, 2, 3, 5 }, model.Fed);
    }

    [Fact]
    public void Restore_ResumesExactly_When_SnapshotTaken()
    {
        var model = new ScriptedModel(16, [5, 6, 7, 8], scriptStart: 2);
        using var session = new InferenceSession(model);
        session.Append([1, 2]);
        var snapshot = new float[session.SnapshotLength];
        session.Snapshot(snapshot);
        float[] logitsAtSnapshot = session.Logits.ToArray();
        session.Step(5);
        session.Step(6);
        session.Restore(snapshot);
        Assert.Equal(2, session.Position);
        Assert.Equal(logitsAtSnapshot, session.Logits.ToArray());
        session.Step(5);
        Assert.Equal(6, Argmax(session.Logits[..16]));
        Assert.Throws<ArgumentException>(() => session.Restore(new float[3]));
    }

    [Fact]
    public void Append_Throws_When_TokenOutsideVocabulary()
    {
        var model = new ScriptedModel(16, [1], scriptStart: 0);
        using var session = new InferenceSession(model);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => session.Append([1, 16]));
        Assert.Contains("token 1 is 16", ex.Message, StringComparison.Ordinal);
        Assert.Empty(model.Fed);
        Assert.Throws<ArgumentOutOfRangeException>(() => session.Step(-1));
    }

    [Fact]
    public void Reset_ForgetsConversation_When_Called()
    {
        var model = new ScriptedModel(16, [1], scriptStart: 0);
        using var session = new InferenceSession(model);
        session.Append([3, 4]);
        session.Reset();
        Assert.Equal(0, session.Position);
        Assert.False(session.HasLogits);
    }

    private static int Argmax(ReadOnlySpan<float> x)
    {
        int best = 0;
        for (int i = 1; i < x.Length; i++) if (x[i] > x[best]) best = i;
        return best;
    }
}
