namespace Synod.Client;

/// <summary>
/// The operation did not complete before its deadline: no leader, no quorum, or no replica answered in time
/// (UNAVAILABLE or attempt deadlines on every try). For a write, <see cref="OutcomeUnknown"/> says whether it
/// may still take effect.
/// </summary>
public class SynodUnavailableException : SynodException
{
    public SynodUnavailableException(string message, FailureSummary summary, Exception? innerException = null)
        : base(message, innerException)
    {
        Tried = summary.Tried;
        Attempts = summary.Attempts;
        OutcomeUnknown = summary.OutcomeUnknown;
        LastServerMessage = summary.LastServerMessage;
        LastEndpoint = summary.LastEndpoint;
        LastError = summary.LastError;
    }

    /// <summary>How long the client kept trying.</summary>
    public TimeSpan Tried { get; }

    /// <summary>How many gRPC attempts were made, across all replicas.</summary>
    public int Attempts { get; }

    /// <summary>True for a write that may have taken effect (or may still); false when it certainly did not, and for reads.</summary>
    public bool OutcomeUnknown { get; }

    /// <summary>The last explanation a replica sent, or null when no replica answered.</summary>
    public string? LastServerMessage { get; }

    /// <summary>The replica ("host:port") of the last attempt.</summary>
    public string? LastEndpoint { get; }

    /// <summary>The last transport failure in short form ("connection refused", "no answer within 2.0 s"), or null.</summary>
    public string? LastError { get; }
}
