using System.Text.Json;
using System.Text.Json.Serialization;

namespace EdgeRuntime.Tools.Commands;

/// <summary><c>edgefw verify --json</c> output.</summary>
public sealed record VerifyJson(string Model, string Golden, bool Pass, IReadOnlyList<VerifyCheckJson> Checks, VerifyBudgetJson Budget);

/// <summary>The error budget in <see cref="VerifyJson"/> (absent bounds are not checked; <c>tolerance</c> of each check is
/// <c>maxRelError</c> for the exact f32 budget, else <c>relRms</c>).</summary>
public sealed record VerifyBudgetJson(string Type, string? Family, double? MaxRelError, double? RelRms, double? Top1Agreement, bool RequireEqualTokens, string Description);

/// <summary>One check in <see cref="VerifyJson"/>.</summary>
public sealed record VerifyCheckJson(string Name, double MaxRelError, double RelRms, double Top1Agreement, double Tolerance, bool Pass, string? Detail);

/// <summary><c>edgefw inspect --json</c> output: the model summary, plus the file's contents for a GGUF file.</summary>
public sealed record InspectJson(string Family, string Location, IReadOnlyDictionary<string, string> Dimensions, long Parameters, long WeightBytes, long StateBytesPerSession, GgufJson? Gguf = null);

/// <summary>A GGUF file in <see cref="InspectJson"/>: header, every metadata key and every tensor.</summary>
public sealed record GgufJson(uint Version, uint Alignment, long DataOffset, long FileBytes, long TensorBytes, IReadOnlyList<GgufMetadataJson> Metadata, IReadOnlyList<GgufTensorJson> Tensors);

/// <summary>One metadata key: GGUF type name (e.g. <c>uint32</c>, <c>array[string]</c>), element count for arrays, the
/// value as JSON, and <c>truncated</c> when only the first elements of a long array are given.</summary>
public sealed record GgufMetadataJson(string Key, string Type, int? Count, JsonElement Value, bool? Truncated);

/// <summary>One tensor: ggml type, shape (outermost first), ggml <c>ne</c> (innermost first), bytes, absolute file offset.</summary>
public sealed record GgufTensorJson(string Name, string Type, IReadOnlyList<long> Shape, IReadOnlyList<long> Ne, long Bytes, long Offset);

/// <summary>A failure in <c>--json</c> mode.</summary>
public sealed record ErrorJson(string Error);

/// <summary>Source-generated serializer for every JSON the tools print (AOT: no reflection).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(VerifyJson))]
[JsonSerializable(typeof(InspectJson))]
[JsonSerializable(typeof(ErrorJson))]
public sealed partial class ToolJsonContext : JsonSerializerContext;
