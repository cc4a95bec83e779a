namespace EdgeRuntime.Service.Mqtt;

/// <summary>Reconnect delays: exponential from a minimum to a maximum, with "equal jitter" (half fixed, half random).</summary>
/// <remarks>Stateless; safe from any thread.</remarks>
public static class Backoff
{
    /// <summary>The delay before reconnect attempt <paramref name="attempt"/> (0 = the first retry).</summary>
    /// <param name="attempt">Failures so far, minus one.</param>
    /// <param name="min">Base delay.</param>
    /// <param name="max">Cap.</param>
    /// <param name="unitRandom">A random number in [0, 1).</param>
    public static TimeSpan Delay(int attempt, TimeSpan min, TimeSpan max, double unitRandom)
    {
        double ceiling = Math.Min(max.TotalMilliseconds, min.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 30)));
        return TimeSpan.FromMilliseconds(ceiling / 2 + ceiling / 2 * unitRandom);
    }
}
