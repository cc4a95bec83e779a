using EdgeRuntime.Messaging;

namespace EdgeRuntime.Tests.Messaging;

public sealed class TopicsTests
{
    [Fact]
    public void Topics_AreRootedAtPrefixAndNode()
    {
        var topics = new Topics("edge", "n1");
        Assert.Equal("edge/n1", topics.Root);
        Assert.Equal("edge/n1/status", topics.Status);
        Assert.Equal("edge/n1/generate", topics.Generate);
        Assert.Equal("edge/n1/infer", topics.Infer);
        Assert.Equal("edge/n1/cancel", topics.Cancel);
        Assert.Equal("edge/n1/errors", topics.Errors);
        Assert.Equal("$share/fleet/edge/+/generate", topics.SharedFilter("fleet", RequestKind.Generate));
    }

    [Theory]
    [InlineData("edge/n1/generate", RequestKind.Generate)]
    [InlineData("edge/other/infer", RequestKind.Infer)]
    [InlineData("edge/n1/cancel", RequestKind.Cancel)]
    [InlineData("edge/n1/status", null)]
    [InlineData("edge/generate", null)]
    [InlineData("other/n1/generate", null)]
    [InlineData("edge/n1/generate/x", null)]
    public void Classify_FindsTheRequestKind(string topic, RequestKind? kind) => Assert.Equal(kind, new Topics("edge", "n1").Classify(topic));

    [Theory]
    [InlineData("node-1", true)]
    [InlineData("a.b_c-9", true)]
    [InlineData("", false)]
    [InlineData("a/b", false)]
    [InlineData("a+b", false)]
    [InlineData("a#", false)]
    [InlineData("a b", false)]
    public void NodeIds_AreOneSafeTopicLevel(string id, bool valid) => Assert.Equal(valid, Topics.IsValidNodeId(id));

    [Fact]
    public void SanitizeNodeId_MakesAHostNameValid() => Assert.Equal("my-host-local", Topics.SanitizeNodeId("my host/local"));

    [Theory]
    [InlineData("s1", true)]
    [InlineData("pump-7.a_b", true)]
    [InlineData("..", false)]
    [InlineData(".x", false)]
    [InlineData("a/b", false)]
    [InlineData("a\\b", false)]
    [InlineData("", false)]
    [InlineData("-x", false)]
    public void SessionIds_CannotLeaveTheDirectory(string id, bool valid) => Assert.Equal(valid, SessionIds.IsValid(id));

    [Fact]
    public void SessionIds_HaveALengthLimit()
    {
        Assert.True(SessionIds.IsValid(new string('a', 64)));
        Assert.False(SessionIds.IsValid(new string('a', 65)));
    }
}
