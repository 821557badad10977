namespace Synod.Client;

/// <summary>
/// A replica named as leader a replica this client has no endpoint for (one that joined later): the caller looks its
/// endpoint up in the configuration. <see cref="OutcomeUnknown"/>: an earlier attempt of the same call may have taken
/// effect. <see cref="Summary"/> is what the call would have thrown had it stopped here.
/// </summary>
internal sealed class LeaderElsewhereException(int leaderId, bool outcomeUnknown, SynodUnavailableException summary)
    : Exception($"replica {leaderId} leads, and this client has no endpoint for it", summary)
{
    public int LeaderId { get; } = leaderId;

    public bool OutcomeUnknown { get; } = outcomeUnknown;

    public SynodUnavailableException Summary { get; } = summary;
}
