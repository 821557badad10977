namespace Synod.Client;

/// <summary>
/// What happened to the attempts of one operation, kept to decide what its failure means (unreachable, or
/// unavailable with an unknown outcome) and to say so in one sentence when time runs out.
/// </summary>
internal sealed class AttemptHistory
{
    private const string MayStillTakeEffect = "may still take effect";

    private readonly HashSet<string> _endpointsTried = new(StringComparer.OrdinalIgnoreCase);

    /// <param name="operation">What is being done, for messages: "put", "get", "delete".</param>
    /// <param name="isWrite">True for Put and Delete, whose outcome becomes unknown once a replica may have seen them.</param>
    public AttemptHistory(string operation, bool isWrite)
    {
        Operation = operation;
        IsWrite = isWrite;
    }

    public string Operation { get; }

    public bool IsWrite { get; }

    public int Attempts { get; private set; }

    public int EndpointsTried => _endpointsTried.Count;

    /// <summary>True once any attempt got past connecting, so the cluster is not simply unreachable.</summary>
    public bool AnyConnected { get; private set; }

    /// <summary>True for a write once any attempt may have reached a replica without being answered with a result.</summary>
    public bool OutcomeUnknown { get; private set; }

    public string? LastEndpoint { get; private set; }

    public string? LastServerMessage { get; private set; }

    /// <summary>The replica that sent <see cref="LastServerMessage"/>, which need not be the last one tried.</summary>
    public string? LastServerEndpoint { get; private set; }

    public string? LastError { get; private set; }

    /// <summary>Records an attempt that failed in a way that allows a retry.</summary>
    /// <param name="endpoint">The replica tried.</param>
    /// <param name="kind">How it failed: <see cref="RpcFailureKind.ConnectFailed"/>, <see cref="RpcFailureKind.Unanswered"/> or <see cref="RpcFailureKind.Refused"/>.</param>
    /// <param name="text">The replica's message for Refused, else the short transport error.</param>
    /// <param name="neverConnected">
    /// The attempt ran out of time on a channel that has not connected to the replica since the client started (an
    /// attempt cut short by the operation's deadline while the channel still waited to connect): it does not show that
    /// any replica was reached. A write's outcome still counts as unknown, in case the channel connected unseen.
    /// </param>
    /// <param name="notProposed">A refusal that says this attempt was not proposed: it adds no doubt about a write's outcome (earlier attempts still count).</param>
    public void Record(string endpoint, RpcFailureKind kind, string text, bool neverConnected = false, bool notProposed = false)
    {
        Attempts++;
        _endpointsTried.Add(endpoint);
        LastEndpoint = endpoint;
        if (kind == RpcFailureKind.ConnectFailed)
        {
            LastError = text;
            return;
        }

        if (kind == RpcFailureKind.Unanswered && neverConnected)
        {
            // A deadline on a channel that never connected says less than the error that kept it from connecting (a
            // refused TLS handshake, say): that one stays the error the operation reports.
            OutcomeUnknown |= IsWrite;
            LastError ??= text;
            return;
        }

        AnyConnected = true;
        OutcomeUnknown |= IsWrite && !notProposed;
        if (kind == RpcFailureKind.Refused)
        {
            LastServerMessage = text;
            LastServerEndpoint = endpoint;
            LastError = null;
        }
        else
        {
            LastError = text;
        }
    }

    public FailureSummary Summary(TimeSpan tried) =>
        new(tried, Attempts, OutcomeUnknown, LastServerMessage, LastEndpoint, LastError);

    /// <summary>The exception for an operation whose deadline passed: unreachable if nothing ever connected.</summary>
    public SynodUnavailableException Exhausted(TimeSpan tried)
    {
        var summary = Summary(tried);
        var replicas = EndpointsTried == 1 ? "1 replica" : $"{EndpointsTried} replicas";
        var attempts = Attempts == 1 ? "1 attempt" : $"{Attempts} attempts";
        var effort = $"tried {replicas} in {attempts} over {ClientText.Seconds(tried)}";
        if (!AnyConnected)
        {
            var message = $"no replica could be connected: {effort}; last error from {LastEndpoint}: {LastError ?? "none"}.{WriteTail()}";
            return new SynodUnreachableException(message, summary);
        }

        // The replica's message says the cause (no quorum, no leader, timed out), so the headline stays neutral.
        var last = LastServerMessage is not null
            ? $"unavailable: {effort}; last answer from {LastServerEndpoint}: {ClientText.Sentence(LastServerMessage)}"
            : $"no answer: {effort}; the last, to {LastEndpoint}, failed: {LastError}.";
        return new SynodUnavailableException(last + WriteTail(), summary);
    }

    /// <summary>The exception for a pinned replica that cannot be connected: fail at once, there is nowhere else to go.</summary>
    public SynodUnreachableException PinnedUnreachable(string endpoint, string error, TimeSpan tried) =>
        new($"could not connect to replica {endpoint}: {error}.{WriteTail()}", Summary(tried));

    /// <summary>What a failed write means for its effect; short when the replica's own message already said it.</summary>
    private string WriteTail() => !IsWrite ? ""
        : !OutcomeUnknown ? " The write was not applied."
        : LastServerMessage?.Contains(MayStillTakeEffect, StringComparison.OrdinalIgnoreCase) == true ? " Outcome unknown."
        : $" Outcome unknown: the write {MayStillTakeEffect}.";
}
