namespace EdgeRuntime.Messaging;

/// <summary>Rules for session ids, which name snapshot files: 1-64 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit.</summary>
/// <remarks>No separators, no leading dot, so an id can never leave the sessions directory (no "..", "/", "\\"). Stateless.</remarks>
public static class SessionIds
{
    /// <summary>Most characters of a session id.</summary>
    public const int MaxLength = 64;

    /// <summary>Whether <paramref name="id"/> is a valid session id.</summary>
    public static bool IsValid(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > MaxLength || !char.IsAsciiLetterOrDigit(id[0])) return false;
        foreach (char c in id)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-')) return false;
        }
        return true;
    }

    /// <summary>What a valid id looks like, for error messages.</summary>
    public const string Rule = "1-64 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit";
}
