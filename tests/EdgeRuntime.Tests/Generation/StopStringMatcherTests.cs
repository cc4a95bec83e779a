using EdgeRuntime.Models.Generation;

namespace EdgeRuntime.Tests.Generation;

public class StopStringMatcherTests
{
    [Fact]
    public void Push_HoldsPrefixAndStops_When_StopSpansPieces()
    {
        var m = new StopStringMatcher(["\n\nUser:"]);
        Assert.False(m.Push("Hello", out string e1));
        Assert.Equal("Hello", e1);
        Assert.False(m.Push(" there\n", out string e2));
        Assert.Equal(" there", e2); // "\n" may start the stop string
        Assert.False(m.Push("\nUs", out string e3));
        Assert.Equal("", e3);
        Assert.Equal("\n\nUs".Length, m.HeldLength);
        Assert.True(m.Push("er: more", out string e4));
        Assert.Equal("", e4);
    }

    [Fact]
    public void Push_ReleasesHeldText_When_PrefixDoesNotComplete()
    {
        var m = new StopStringMatcher(["STOP"]);
        Assert.False(m.Push("a ST", out string e1));
        Assert.Equal("a ", e1);
        Assert.False(m.Push("OW b", out string e2));
        Assert.Equal("STOW b", e2);
        Assert.Equal("", m.Flush());
    }

    [Fact]
    public void Push_EmitsTextBeforeEarliestStop_When_SeveralStops()
    {
        var m = new StopStringMatcher(["world", "lo w"]);
        Assert.True(m.Push("Hello world", out string emit));
        Assert.Equal("Hel", emit);
    }

    [Fact]
    public void Flush_ReturnsHeldText_When_GenerationEndsOtherwise()
    {
        var m = new StopStringMatcher(["###"]);
        Assert.False(m.Push("x ##", out string e));
        Assert.Equal("x ", e);
        Assert.Equal("##", m.Flush());
        Assert.Equal(0, m.HeldLength);
    }

    [Fact]
    public void Push_PassesThrough_When_NoStops()
    {
        var m = new StopStringMatcher([]);
        Assert.False(m.Push("anything\n\n", out string e));
        Assert.Equal("anything\n\n", e);
    }

    [Fact]
    public void Constructor_Throws_When_EmptyStop()
    {
        Assert.Throws<ArgumentException>(() => new StopStringMatcher([""]));
    }
}
