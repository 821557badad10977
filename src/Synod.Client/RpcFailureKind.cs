namespace Synod.Client;

/// <summary>What one failed gRPC attempt means for the operation: retry elsewhere, or stop with a specific error.</summary>
internal enum RpcFailureKind
{
    /// <summary>The replica could not be connected; the request never left the client.</summary>
    ConnectFailed,

    /// <summary>No answer: the attempt deadline passed or the connection broke mid-call. A write may have arrived.</summary>
    Unanswered,

    /// <summary>A replica answered UNAVAILABLE (no leader, no quorum) or was overloaded; retry, maybe elsewhere.</summary>
    Refused,

    /// <summary>INVALID_ARGUMENT: bad input, never retried.</summary>
    InvalidArgument,

    /// <summary>NOT_FOUND: the key is absent.</summary>
    NotFound,

    /// <summary>FAILED_PRECONDITION: the client id's session is gone; the command was not applied.</summary>
    SessionExpired,

    /// <summary>OUT_OF_RANGE: the revision asked for has been compacted.</summary>
    Compacted,

    /// <summary>PERMISSION_DENIED: authentication is on and the user may not do this; nothing was applied. Not retried.</summary>
    PermissionDenied,

    /// <summary>UNAUTHENTICATED: the token is no longer good (expired, password changed); sign in again and retry.</summary>
    Unauthenticated,

    /// <summary>Any other status: a bug or version mismatch, not retried.</summary>
    Unexpected,
}
