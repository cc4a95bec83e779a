using EdgeRuntime.Messaging;
using EdgeRuntime.Messaging.Protocol;

namespace EdgeRuntime.Tests.Messaging;

public sealed class ChunkCoalescerTests
{
    /// <summary>A clock the test moves by hand.</summary>
    private sealed class ManualClock : TimeProvider
    {
        public long Ticks { get; set; }

        public override long TimestampFrequency => 1000; // milliseconds

        public override long GetTimestamp() => Ticks;
    }

    [Fact]
    public void ZeroInterval_SendsEveryTokenAsItsOwnChunk()
    {
        var coalescer = new ChunkCoalescer("r", TimeSpan.Zero);
        for (int i = 0; i < 5; i++)
        {
            Assert.True(coalescer.Add(i, $"t{i}", out var chunk));
            Assert.Equal(i, chunk!.Seq);
            Assert.Equal([i], chunk.Tokens);
            Assert.Equal($"t{i}", chunk.Text);
        }
        Assert.Null(coalescer.Flush());
        Assert.Equal(5, coalescer.TakeFinalSeq());
    }

    [Fact]
    public void Interval_GroupsTokens_NeverDropsOrReorders()
    {
        var clock = new ManualClock();
        var coalescer = new ChunkCoalescer("r", TimeSpan.FromMilliseconds(50), clock);
        var chunks = new List<ChunkMessage>();
        var random = new Random(42);
        for (int i = 0; i < 200; i++)
        {
            clock.Ticks += random.Next(0, 30);
            if (coalescer.Add(i, i % 7 == 0 ? "" : $"<{i}>", out var chunk)) chunks.Add(chunk!);
        }
        coalescer.Add(-1, "tail", out var last);
        if (last is not null) chunks.Add(last);
        if (coalescer.Flush() is { } rest) chunks.Add(rest);

        Assert.Equal(Enumerable.Range(0, chunks.Count), chunks.Select(c => c.Seq));
        Assert.Equal(Enumerable.Range(0, 200), chunks.SelectMany(c => c.Tokens));
        Assert.Equal(string.Concat(Enumerable.Range(0, 200).Select(i => i % 7 == 0 ? "" : $"<{i}>")) + "tail", string.Concat(chunks.Select(c => c.Text)));
        Assert.True(chunks.Count < 200, "tokens were coalesced");
        Assert.Equal([0], chunks[0].Tokens); // the first token goes out at once
        Assert.Equal(chunks.Count, coalescer.TakeFinalSeq());
    }

    [Fact]
    public void Flush_WithNothingPending_ReturnsNull()
    {
        var coalescer = new ChunkCoalescer("r", TimeSpan.FromSeconds(1));
        Assert.Null(coalescer.Flush());
        Assert.False(coalescer.HasPending);
        Assert.Equal(0, coalescer.TakeFinalSeq());
    }
}
