namespace Synod.Client;

/// <summary>What an operation that ran out of time went through, as carried by <see cref="SynodUnavailableException"/>.</summary>
/// <param name="Tried">How long the client kept trying.</param>
/// <param name="Attempts">How many gRPC attempts were made, across all replicas.</param>
/// <param name="OutcomeUnknown">True for a write that may have taken effect or may still.</param>
/// <param name="LastServerMessage">The last explanation a replica sent, or null when none answered.</param>
/// <param name="LastEndpoint">The replica ("host:port") of the last attempt.</param>
/// <param name="LastError">The last transport failure in short form ("connection refused"), or null.</param>
public sealed record FailureSummary(
    TimeSpan Tried, int Attempts, bool OutcomeUnknown, string? LastServerMessage, string? LastEndpoint, string? LastError);
