using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace EdgeRuntime.Messaging.Protocol;

/// <summary>Source-generated JSON for every protocol message (camelCase, nulls omitted, unknown request fields rejected).</summary>
/// <remarks>
/// AOT- and trimming-safe: no reflection. Use <see cref="Protocol"/>: the same contract, writing quotes and non-ASCII
/// text as themselves instead of <c>\u0022</c> escapes (payloads are MQTT, never HTML). Stateless; safe from any thread.
/// </remarks>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    AllowDuplicateProperties = false,
    MaxDepth = 16)]
[JsonSerializable(typeof(GenerateRequest))]
[JsonSerializable(typeof(InferRequest))]
[JsonSerializable(typeof(CancelRequest))]
[JsonSerializable(typeof(ChunkMessage))]
[JsonSerializable(typeof(FinalMessage))]
[JsonSerializable(typeof(StatusMessage))]
public sealed partial class ProtocolJsonContext : JsonSerializerContext
{
    /// <summary>The protocol's serializer: <see cref="Default"/>'s settings with minimal escaping.</summary>
    public static ProtocolJsonContext Protocol { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        AllowDuplicateProperties = false,
        MaxDepth = 16,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
