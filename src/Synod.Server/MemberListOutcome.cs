using Synod.Core;

namespace Synod.Server;

/// <summary>One member as a replica sees it: its place in the configuration and the commit index it last reported.</summary>
internal sealed record MemberView(ConfigurationMember Member, long Applied, long Lag);

/// <summary>The latest configuration this replica knows, with what it knows of each member (synod member list).</summary>
internal sealed record MemberListOutcome(
    Configuration Configuration, long EffectiveFrom, bool Pending, IReadOnlyList<MemberView> Members, IReadOnlyList<int> InitialVoters,
    int LeaderId, long CommitIndex);
