using System.Text.Json.Serialization;

namespace EdgeRuntime.Tools.Commands;

/// <summary><c>edgefw bench --json</c> output: exactly the schema of the benchmark issue (the optional GEMM fields appear
/// only with <c>--peak</c>).</summary>
/// <remarks>Rates in tokens (Aaren: steps) per second; bandwidths in GB/s (10⁹ bytes). Immutable.</remarks>
public sealed record BenchJson(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("threads")] int Threads,
    [property: JsonPropertyName("memoryBandwidthGBs"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? MemoryBandwidthGBs,
    [property: JsonPropertyName("weightBytesPerToken")] long WeightBytesPerToken,
    [property: JsonPropertyName("pp512")] BenchRateJson Pp512,
    [property: JsonPropertyName("tg128")] BenchDecodeJson Tg128,
    [property: JsonPropertyName("depth")] IReadOnlyList<BenchDepthJson> Depth,
    [property: JsonPropertyName("peakRssBytes")] long PeakRssBytes,
    [property: JsonPropertyName("allocatedBytesPerStep")] double AllocatedBytesPerStep,
    [property: JsonPropertyName("prefillGflops")] double? PrefillGflops = null,
    [property: JsonPropertyName("gemmPeakGflops")] double? GemmPeakGflops = null);

/// <summary>A rate with its standard deviation over repetitions.</summary>
public sealed record BenchRateJson(
    [property: JsonPropertyName("tokensPerSecond")] double TokensPerSecond,
    [property: JsonPropertyName("sd")] double Sd);

/// <summary>The decode rate, its standard deviation and the weight bandwidth it implies.</summary>
public sealed record BenchDecodeJson(
    [property: JsonPropertyName("tokensPerSecond")] double TokensPerSecond,
    [property: JsonPropertyName("sd")] double Sd,
    [property: JsonPropertyName("effectiveBandwidthGBs")] double EffectiveBandwidthGBs);

/// <summary>Decode rate at one depth.</summary>
public sealed record BenchDepthJson(
    [property: JsonPropertyName("depth")] int Depth,
    [property: JsonPropertyName("tokensPerSecond")] double TokensPerSecond);

/// <summary>Source-generated serializer for <see cref="BenchJson"/> (AOT: no reflection).</summary>
[JsonSourceGenerationOptions(WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(BenchJson))]
public sealed partial class BenchJsonContext : JsonSerializerContext;
