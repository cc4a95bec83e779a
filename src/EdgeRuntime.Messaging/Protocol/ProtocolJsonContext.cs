using System.Text.Json.Serialization;

namespace EdgeRuntime.Messaging.Protocol;

/// <summary>Source-generated JSON for every protocol message (camelCase, nulls omitted, unknown request fields rejected).</summary>
/// <remarks>AOT- and trimming-safe: no reflection. Stateless; safe from any thread.</remarks>
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
public sealed partial class ProtocolJsonContext : JsonSerializerContext;
