using System.Text.Json.Serialization;

namespace EdgeRuntime.Tools.Commands;

/// <summary><c>edgefw tokenize --json</c> output: <c>{"ids":[...]}</c>. Immutable.</summary>
/// <param name="Ids">Token ids.</param>
public sealed record TokenIdsJson(int[] Ids);

/// <summary><c>edgefw detokenize --json</c> output: <c>{"text":"..."}</c>. Immutable.</summary>
/// <param name="Text">Decoded text.</param>
public sealed record TokenTextJson(string Text);

/// <summary>Source-generated (AOT-safe) JSON for the tokenize commands.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(TokenIdsJson))]
[JsonSerializable(typeof(TokenTextJson))]
internal sealed partial class TokenizeJsonContext : JsonSerializerContext;
