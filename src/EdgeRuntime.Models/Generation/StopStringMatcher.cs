using System.Text;

namespace EdgeRuntime.Models.Generation;

/// <summary>Finds stop strings in streamed text, across token boundaries, without ever emitting the stop text.</summary>
/// <remarks>
/// Text that could still be the start of a stop string is held back until the next piece decides it; everything
/// before it is released at once. When a stop string appears, the text before it is released and the rest dropped.
/// Not thread-safe: one matcher per generation.
/// </remarks>
public sealed class StopStringMatcher
{
    private readonly string[] _stops;
    private readonly StringBuilder _held = new();

    /// <summary>Creates a matcher for <paramref name="stops"/> (none = every piece passes straight through).</summary>
    /// <exception cref="ArgumentException">A stop string is empty.</exception>
    public StopStringMatcher(IReadOnlyList<string> stops)
    {
        ArgumentNullException.ThrowIfNull(stops);
        _stops = new string[stops.Count];
        for (int i = 0; i < _stops.Length; i++)
        {
            if (string.IsNullOrEmpty(stops[i])) throw new ArgumentException("stop strings must not be empty", nameof(stops));
            _stops[i] = stops[i];
        }
    }

    /// <summary>Characters held back as a possible stop-string prefix.</summary>
    public int HeldLength => _held.Length;

    /// <summary>Adds text; returns true when a stop string is complete. <paramref name="emit"/> is the text now safe to show.</summary>
    public bool Push(string text, out string emit)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (_stops.Length == 0)
        {
            emit = text;
            return false;
        }
        if (text.Length == 0 && _held.Length == 0)
        {
            emit = string.Empty;
            return false;
        }
        _held.Append(text);
        string all = _held.ToString();

        int first = -1;
        foreach (string stop in _stops)
        {
            int at = all.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (first < 0 || at < first)) first = at;
        }
        if (first >= 0)
        {
            emit = all[..first];
            _held.Clear();
            return true;
        }

        int hold = 0;
        foreach (string stop in _stops)
        {
            // Longest proper prefix of the stop string that ends the text.
            for (int k = Math.Min(stop.Length - 1, all.Length); k > hold; k--)
            {
                if (all.AsSpan(all.Length - k).SequenceEqual(stop.AsSpan(0, k)))
                {
                    hold = k;
                    break;
                }
            }
        }
        emit = hold == 0 ? all : all[..^hold];
        _held.Clear();
        if (hold > 0) _held.Append(all, all.Length - hold, hold);
        return false;
    }

    /// <summary>Releases held-back text (the generation ended for another reason) and empties the matcher.</summary>
    public string Flush()
    {
        string text = _held.ToString();
        _held.Clear();
        return text;
    }

    /// <summary>Drops held-back text.</summary>
    public void Reset() => _held.Clear();
}
