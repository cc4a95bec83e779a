using System.Text.Json.Serialization;

namespace EdgeRuntime.Tools.Commands;

/// <summary><c>edgefw verify --json</c> output.</summary>
public sealed record VerifyJson(string Model, string Golden, bool Pass, IReadOnlyList<VerifyCheckJson> Checks);

/// <summary>One check in <see cref="VerifyJson"/>.</summary>
public sealed record VerifyCheckJson(string Name, double MaxRelError, double RelRms, double Top1Agreement, double Tolerance, bool Pass, string? Detail);

/// <summary><c>edgefw inspect --json</c> output for a checkpoint directory.</summary>
public sealed record InspectJson(string Family, string Location, IReadOnlyDictionary<string, string> Dimensions, long Parameters, long WeightBytes, long StateBytesPerSession);

/// <summary>A failure in <c>--json</c> mode.</summary>
public sealed record ErrorJson(string Error);

/// <summary>Source-generated serializer for every JSON the tools print (AOT: no reflection).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(VerifyJson))]
[JsonSerializable(typeof(InspectJson))]
[JsonSerializable(typeof(ErrorJson))]
public sealed partial class ToolJsonContext : JsonSerializerContext;
