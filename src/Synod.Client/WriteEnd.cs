namespace Synod.Client;

/// <summary>How a write ended, as far as its session is concerned.</summary>
internal enum WriteEnd
{
    /// <summary>A replica answered with the write's result.</summary>
    Acknowledged,

    /// <summary>No result: refused as invalid, timed out, cancelled, or failed otherwise; it may or may not have been applied.</summary>
    NotAcknowledged,

    /// <summary>The replicas no longer know the client id (FAILED_PRECONDITION).</summary>
    SessionExpired,
}
