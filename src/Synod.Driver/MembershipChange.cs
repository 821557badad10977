namespace Synod.Driver;

/// <summary>What a membership request asks for (docs/protocol.md, "Membership"; `synod member ...`).</summary>
public enum MembershipChangeKind
{
    /// <summary>A new replica joins as a learner: it receives the log and counts for no quorum.</summary>
    AddLearner,

    /// <summary>A learner that has caught up becomes a voter.</summary>
    Promote,

    /// <summary>A voter or learner leaves; its id is never used again.</summary>
    Remove,

    /// <summary>A member is reached at another endpoint (a host that came back at a new address).</summary>
    SetEndpoint,
}

/// <summary>One membership request: the kind, the replica it is about, and its endpoint where one is needed.</summary>
public sealed record MembershipChange(MembershipChangeKind Kind, int ReplicaId, string Endpoint = "");

/// <summary>A membership request's result: the configuration it made (and the slot it was chosen in), or why it changed nothing.</summary>
public sealed record MembershipOutcome(Synod.Core.Configuration? Configuration, long Slot, long EffectiveFrom, string? Refusal);
