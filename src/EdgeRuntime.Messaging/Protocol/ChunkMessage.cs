namespace EdgeRuntime.Messaging.Protocol;

/// <summary>One piece of a streamed answer: <c>{"id":...,"seq":n,"text":"...","tokens":[...]}</c>.</summary>
/// <remarks>
/// <see cref="Seq"/> counts from 0 per request with no gaps, the final message taking the next number; chunks are
/// published in order and never dropped. <see cref="Text"/> may be empty when tokens end inside a character or may
/// begin a stop string (that text comes in a later chunk). Immutable.
/// </remarks>
public sealed class ChunkMessage
{
    /// <summary>The request id.</summary>
    public required string Id { get; init; }

    /// <summary>Sequence number, from 0.</summary>
    public required int Seq { get; init; }

    /// <summary>Text that became final with these tokens ("" for models without a tokenizer).</summary>
    public required string Text { get; init; }

    /// <summary>The generated token ids in this chunk.</summary>
    public required int[] Tokens { get; init; }
}
