namespace EdgeRuntime.Tools.Commands;

/// <summary>Process exit codes shared by every command.</summary>
public static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Ok = 0;
    /// <summary>The work ran and found a failure (e.g. a golden mismatch).</summary>
    public const int Failure = 1;
    /// <summary>Bad usage or unusable input (missing or malformed files).</summary>
    public const int Usage = 2;
}
