using Grpc.Core;

namespace Synod.Client;

/// <summary>
/// A replica answered with a status the protocol does not use for operating errors (INTERNAL, UNIMPLEMENTED,
/// PERMISSION_DENIED, ...): a bug or a version mismatch, so it is not retried.
/// </summary>
public sealed class SynodServerException : SynodException
{
    public SynodServerException(string message, StatusCode statusCode, bool outcomeUnknown, Exception? innerException = null)
        : base(message, innerException)
    {
        StatusCode = statusCode;
        OutcomeUnknown = outcomeUnknown;
    }

    public StatusCode StatusCode { get; }

    /// <summary>True for a write, because the failure may have come after it was proposed.</summary>
    public bool OutcomeUnknown { get; }
}
