namespace EdgeRuntime.Messaging.Protocol;

/// <summary>Wall-clock timings of a request, llama.cpp server style.</summary>
/// <remarks>Immutable.</remarks>
/// <param name="PromptMs">Milliseconds spent on the prompt (prefill; infer: the whole computation).</param>
/// <param name="PromptPerSecond">Prompt tokens (infer: steps) per second.</param>
/// <param name="PredictedMs">Milliseconds spent generating.</param>
/// <param name="PredictedPerSecond">Generated tokens per second.</param>
public sealed record Timings(double PromptMs, double PromptPerSecond, double PredictedMs, double PredictedPerSecond);
