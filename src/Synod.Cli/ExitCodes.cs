namespace Synod.Cli;

/// <summary>Process exit codes of every synod command, one per kind of failure a script may want to tell apart.</summary>
public static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>An unexpected failure; the message says what.</summary>
    public const int Failure = 1;

    /// <summary>Bad input: wrong flags, empty or oversized key or value, a malformed endpoint or config.</summary>
    public const int InvalidInput = 2;

    /// <summary>The key does not exist.</summary>
    public const int NotFound = 3;

    /// <summary>No leader or no quorum before the deadline (for a write: the outcome is unknown).</summary>
    public const int Unavailable = 4;

    /// <summary>The replica(s) asked for could not be reached at all.</summary>
    public const int Unreachable = 5;

    /// <summary>
    /// `synod check` could not decide: the search hit its time budget (--timeout) or a key's memory cap
    /// before proving the history linearizable or not.
    /// </summary>
    public const int Undecided = 6;

    /// <summary>A conditional write's compare did not hold (--if-absent, --if-value, ...): nothing was written.</summary>
    public const int CompareFailed = 7;

    /// <summary>Authentication is on and the user may not do this, names no user, or cannot sign in: nothing was done.</summary>
    public const int PermissionDenied = 8;

    /// <summary>The write would take the keys and values past the cluster's write quota (database space exceeded): nothing was written.</summary>
    public const int NoSpace = 9;
}
