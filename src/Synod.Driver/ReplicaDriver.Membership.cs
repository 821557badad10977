using Synod.Core;

namespace Synod.Driver;

/// <summary>
/// Membership requests (docs/protocol.md, "Membership"): checked here against the latest configuration, so that a
/// request that cannot be carried out is refused at once with its reason, then proposed as a
/// <see cref="ConfigurationCommand"/> and answered when the core reports it chosen (accepted or refused there, alike on
/// every replica). Only the leader takes them: it alone knows how far behind a learner is.
/// </summary>
public sealed partial class ReplicaDriver
{
    private readonly Dictionary<long, IAnswer<MembershipOutcome>> _membershipWaiters = [];
    private long _nextMembershipRequest;

    /// <summary>Membership requests waiting for their change to be chosen.</summary>
    public int MembershipChangesWaiting => _membershipWaiters.Count;

    /// <summary>Membership requests whose caller still waits, those held until this leader's handover ends included.</summary>
    private int MembershipRequestsAwaitingAnswer =>
        _membershipWaiters.Values.Count(a => !a.Abandoned) + _removalsAfterHandover.Count(r => !r.Answer.Abandoned);

    /// <summary>
    /// Proposes <paramref name="change"/>, or answers at once: <see cref="ReplicaFailure.NoLeader"/> if this replica does
    /// not lead, or an outcome whose <see cref="MembershipOutcome.Refusal"/> says why the change cannot be made.
    /// </summary>
    public void ChangeMembership(MembershipChange change, IAnswer<MembershipOutcome> answer) => ChangeMembership(change, answer, handOverFirst: true);

    private void ChangeMembership(MembershipChange change, IAnswer<MembershipOutcome> answer, bool handOverFirst)
    {
        if (Core.Role != ReplicaRole.Leader)
        {
            answer.Fail(ReplicaFailure.NoLeader);
            return;
        }

        var latest = Core.LatestConfiguration;
        var members = MembersAfter(change, latest);
        if ((MembershipRefusal(change, latest) ?? QuorumRefusal(change, latest, members)) is { } refusal)
        {
            answer.Complete(new MembershipOutcome(null, 0, 0, refusal));
            return;
        }

        if (handOverFirst && change.Kind == MembershipChangeKind.Remove && change.ReplicaId == Core.Id &&
            (Core.HandoverTarget is not null || HandOver() is null))
        {
            // A leader that is to be removed hands its leadership to a caught-up voter first, so that no election gap
            // follows the removal. The request is answered "not the leader" once it has, and the client asks the new
            // leader, which removes this replica; if the handover is given up, this leader removes itself. A second
            // request while the handover is under way waits for the same one.
            _removalsAfterHandover.Add((change, answer));
            return;
        }

        var requestId = _options.FirstReadId + ++_nextMembershipRequest;
        _membershipWaiters[requestId] = answer;
        Core.Propose(new ConfigurationCommand(requestId, latest.Revision, members).Encode());
    }

    /// <summary>The members of the configuration <paramref name="change"/> would make from <paramref name="latest"/>.</summary>
    private static List<ConfigurationMember> MembersAfter(MembershipChange change, Configuration latest)
    {
        var members = latest.Members.ToList();
        var index = members.FindIndex(m => m.Id == change.ReplicaId);
        switch (change.Kind)
        {
            case MembershipChangeKind.AddLearner:
                members.Add(new ConfigurationMember(change.ReplicaId, Voter: false, change.Endpoint));
                break;
            case MembershipChangeKind.Promote when index >= 0:
                members[index] = members[index] with { Voter = true };
                break;
            case MembershipChangeKind.Remove when index >= 0:
                members.RemoveAt(index);
                break;
            case MembershipChangeKind.SetEndpoint when index >= 0:
                members[index] = members[index] with { Endpoint = change.Endpoint };
                break;
        }

        return members;
    }

    /// <summary>
    /// As etcd's strict reconfiguration check: the voters that acknowledge this leader now must be a quorum of the new
    /// configuration, or the change itself would leave the cluster unable to choose anything.
    /// </summary>
    private string? QuorumRefusal(MembershipChange change, Configuration latest, List<ConfigurationMember> members)
    {
        if (change.Kind is not (MembershipChangeKind.Promote or MembershipChangeKind.Remove))
        {
            return null;
        }

        var next = new Configuration(latest.Revision + 1, members, latest.IdMax);
        var acknowledging = Core.AcknowledgingMembers();
        return next.IsQuorum(acknowledging, smallQuorumBug: false)
            ? null
            : $"after this change only {acknowledging.Count(next.IsVoter)} of its {next.Voters.Count} voters ({string.Join(",", next.Voters)}) acknowledge the leader, fewer than a quorum; bring the others back first";
    }

    /// <summary>
    /// As leader, hands leadership to <paramref name="target"/>, or to the voter that acknowledges this leader, does not
    /// say it could not win now, and knows the most slots chosen (the largest id of those): null once under way, else why not.
    /// </summary>
    public string? HandOver(int? target = null)
    {
        if (Core.Role != ReplicaRole.Leader)
        {
            return $"replica {Core.Id} does not lead";
        }

        // A voter that says it could not win now (stopping, rebuilding, hearing no quorum) would refuse: it comes last.
        target ??= Core.AcknowledgingMembers()
            .Where(id => id != Core.Id && Core.CurrentConfiguration.IsVoter(id) && Core.LatestConfiguration.IsVoter(id))
            .OrderBy(id => Core.PeerReadiness(id).CannotLead())
            .ThenByDescending(Core.PeerCommitIndex).ThenByDescending(id => id)
            .Cast<int?>().FirstOrDefault();
        var refusal = target is int id ? Core.HandOver(id) : "no other voter acknowledges this leader";
        if (refusal is null)
        {
            _events.Handover(started: true,
                $"handing leadership to replica {target} (it knows slots up to {Core.PeerCommitIndex(target!.Value)} chosen, this leader up to {Core.CommitIndex})");
        }

        return refusal;
    }

    /// <summary>Removals of this leader waiting for its handover to end.</summary>
    private readonly List<(MembershipChange Change, IAnswer<MembershipOutcome> Answer)> _removalsAfterHandover = [];

    /// <summary>Answers the removals that waited for a handover: "not the leader" once it moved, or removes itself if it was given up.</summary>
    private void NoteHandoverEnded()
    {
        if (_removalsAfterHandover.Count == 0 || (Core.Role == ReplicaRole.Leader && Core.HandoverTarget is not null))
        {
            return;
        }

        var waiting = _removalsAfterHandover.ToList();
        _removalsAfterHandover.Clear();
        foreach (var (change, answer) in waiting.Where(w => !w.Answer.Abandoned))
        {
            ChangeMembership(change, answer, handOverFirst: false);
        }
    }

    /// <summary>Why <paramref name="change"/> cannot follow <paramref name="latest"/> now, or null.</summary>
    private string? MembershipRefusal(MembershipChange change, Configuration latest)
    {
        if (Core.LatestConfigurationFrom > Core.CommitIndex + 1)
        {
            return $"configuration revision {latest.Revision} takes effect at slot {Core.LatestConfigurationFrom} (now {Core.CommitIndex}); one change at a time, retry once it has";
        }

        var member = latest.Member(change.ReplicaId);
        switch (change.Kind)
        {
            case MembershipChangeKind.AddLearner when member is not null:
                return $"replica {change.ReplicaId} is already a {(member.Voter ? "voter" : "learner")}";
            case MembershipChangeKind.AddLearner when change.ReplicaId <= latest.IdMax:
                return $"replica id {change.ReplicaId} was used before (ids up to {latest.IdMax} have been); give the new replica an id above {latest.IdMax}";
            case MembershipChangeKind.AddLearner when latest.Members.Count >= ReplicaOptions.ReplicasMax:
                return $"the configuration holds {latest.Members.Count} replicas, the most it may ({ReplicaOptions.ReplicasMax})";
            case MembershipChangeKind.AddLearner or MembershipChangeKind.SetEndpoint when change.Endpoint.Length == 0:
                return $"replica {change.ReplicaId} needs an endpoint (HOST:PORT)";
            case MembershipChangeKind.AddLearner:
                return null;
            case not MembershipChangeKind.AddLearner when member is null:
                return $"replica {change.ReplicaId} is not a member (members: {string.Join(",", latest.Members.Select(m => m.Id))})";
            case MembershipChangeKind.Promote when member!.Voter:
                return $"replica {change.ReplicaId} is already a voter";
            case MembershipChangeKind.Promote:
                var lag = Core.CommitIndex - Core.PeerCommitIndex(change.ReplicaId);
                return lag > _options.PromoteLagSlotsMax
                    ? $"learner {change.ReplicaId} is {lag} slots behind the leader (at most {_options.PromoteLagSlotsMax} allowed); wait until it has caught up"
                    : null;
            case MembershipChangeKind.Remove when member!.Voter && latest.Voters.Count == 1:
                return $"replica {change.ReplicaId} is the last voter";
            default:
                return null;
        }
    }

    private void AnswerMembership(Ready ready)
    {
        foreach (var outcome in ready.ConfigurationOutcomes)
        {
            if (_membershipWaiters.Remove(outcome.RequestId, out var answer) && !answer.Abandoned)
            {
                answer.Complete(new MembershipOutcome(outcome.Configuration, outcome.Slot,
                    outcome.Configuration is null ? 0 : outcome.Slot + ReplicaOptions.ConfigurationDelaySlots, outcome.Refusal));
            }
        }
    }

    private void DropAbandonedMembershipWaiters()
    {
        foreach (var id in _membershipWaiters.Where(w => w.Value.Abandoned).Select(w => w.Key).ToList())
        {
            _membershipWaiters.Remove(id);
        }
    }

    /// <summary>The key-value commands of a slot: configuration commands are the core's, not the state machine's.</summary>
    private static IReadOnlyList<byte[]> KvCommandsOf(byte[][] commands)
    {
        foreach (var command in commands)
        {
            if (ConfigurationCommand.IsConfiguration(command))
            {
                return [.. commands.Where(c => !ConfigurationCommand.IsConfiguration(c))];
            }
        }

        return commands;
    }
}
