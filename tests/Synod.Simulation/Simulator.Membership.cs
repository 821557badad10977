using Synod.Core;
using Synod.Driver;

namespace Synod.Simulation;

/// <summary>
/// Membership changes in a run (<see cref="SimulationOptions.ReconfigureProbability"/>): an operator that, every so
/// often, asks the leader to add a spare as a learner, promote a learner, or remove a voter or a learner (sizes 1 to 7),
/// through the same driver call `synod member` uses, while every other fault goes on. A replica that is in no
/// configuration any more is stopped for good, as `synod serve` stops. The oracle checks that replicas agree on the
/// configuration of every slot (<see cref="SafetyOracle.OnConfigurations"/>), on top of linearizability.
/// </summary>
public sealed partial class Simulator
{
    /// <summary>Replicas beyond the first configuration that may join a run that changes membership.</summary>
    private const int SpareReplicas = 4;

    /// <summary>The most members (voters and learners) the operator lets a configuration hold.</summary>
    private const int MembersMax = 7;

    /// <summary>How long the operator waits for a join to be chosen before it stops the joining replica again.</summary>
    private const long JoinAnswerMsMax = 2_000;

    /// <summary>Whether this run's membership changes (drawn per run).</summary>
    public bool Reconfiguring { get; }

    private IReadOnlyList<int>? _activeIds;

    /// <summary>The largest id any replica's configuration has held so far (a replica that restarted may know less).</summary>
    private int _idMaxSeen;

    /// <summary>Until when a change the operator asked for may still be on its way to being chosen.</summary>
    private long _changeInFlightUntilMs;

    /// <summary>
    /// No disk is lost once the membership has changed, nor while a change is on its way: a replica that lost its disk
    /// counts its floor among the first configuration's voters, which after two voter changes can miss every replica
    /// that knows a promise it made, so `serve --rebuild-from-peers` refuses to rebuild then (docs/protocol.md,
    /// "Membership", what is left out; the cold review's schedule is there).
    /// </summary>
    private bool MembershipSettled
    {
        get
        {
            if (!Reconfiguring)
            {
                return true;
            }

            var reference = _hosts.Where(h => h.Up).MaxBy(h => h.Core.CommitIndex);
            return NowMs > _changeInFlightUntilMs && _hosts.All(h => !h.Up || h.Core.LatestConfiguration.Revision == 0) &&
                (reference is null || reference.Core.LatestConfigurationFrom <= reference.Core.CommitIndex + 1);
        }
    }

    /// <summary>The replicas that are members now (never joined spares, nor stopped ones), in id order.</summary>
    private IReadOnlyList<int> ActiveIds => _activeIds ??= [.. _hosts.Where(h => !h.Dormant).Select(h => h.Id)];

    /// <summary>
    /// The fewest voters of the configurations in play (in effect, and the latest chosen) as the most advanced replica
    /// knows them: crashes and lost disks are kept to a minority of that.
    /// </summary>
    private int VotersInPlay
    {
        get
        {
            var reference = _hosts.Where(h => h.Up).MaxBy(h => h.Core.CommitIndex);
            return reference is null ? Options.Replicas
                : Math.Min(reference.Core.CurrentConfiguration.Voters.Count, reference.Core.LatestConfiguration.Voters.Count);
        }
    }

    /// <summary>
    /// A replica the most advanced one knows is in no configuration from its commit point on: it was removed and is
    /// left behind on purpose (no one sends it the log any more), so it is not expected to converge.
    /// </summary>
    private bool Leaving(SimReplicaHost host)
    {
        var reference = _hosts.Where(h => h.Up).MaxBy(h => h.Core.CommitIndex);
        if (reference is null)
        {
            return false;
        }

        // A spare whose join was never chosen is no member either (the operator stops it after JoinAnswerMsMax).
        return host.Id > reference.Core.LatestConfiguration.IdMax ||
            (!reference.Core.CurrentConfiguration.Contains(host.Id) &&
            !reference.Core.ConfigurationEpochs.Any(e => e.EffectiveFrom > reference.Core.CommitIndex + 1 && e.Configuration.Contains(host.Id)));
    }

    /// <summary>The up replica that leads at the highest ballot (the operator's "the leader"), or null.</summary>
    private SimReplicaHost? CurrentLeader => _hosts.Where(h => h.Up && h.Core.Role == ReplicaRole.Leader).MaxBy(h => h.Core.Ballot);

    private void ScheduleNextReconfiguration()
    {
        if (!Reconfiguring)
        {
            return;
        }

        Faults.ReconfiguringRuns = 1;
        Schedule(NowMs + 1 + Random.Next(2 * Options.ReconfigureGapMsMean), Tracing ? "reconfigure" : null, () =>
        {
            RetireRemoved();
            if (_leaseHoldersStopped)
            {
                return;
            }

            NoteLeadershipEvent();
            Reconfigure();
            ScheduleNextReconfiguration();
        });
    }

    private void Reconfigure()
    {
        var leader = CurrentLeader;
        if (leader is null || leader.Core.LatestConfigurationFrom > leader.Core.CommitIndex + 1 ||
            _hosts.Any(h => !h.Dormant && (h.DurablyRebuilding || h.SectorCorrupted || (h.Up && h.Core.Rebuilding))))
        {
            // As an operator does, no change while a replica rebuilds: its vote is missing until it has.
            return;
        }

        var latest = leader.Core.LatestConfiguration;
        var spare = _hosts.FirstOrDefault(h => h.Dormant && !h.Up && h.Id > latest.IdMax && !h.EverJoined);
        var choices = new List<MembershipChange>();
        // Learners stay a while (one is promoted only once two wait, or no spare is left), so that quorums are counted
        // with learners present, as learner-votes needs to show.
        foreach (var learner in latest.Learners.Where(id => !Host(id).Dormant).Take(latest.Learners.Count >= 2 || spare is null ? 1 : 0))
        {
            choices.Add(new MembershipChange(MembershipChangeKind.Promote, learner));
        }

        // A member whose replica was stopped (its join came too late) is removed first.
        var stopped = latest.Members.FirstOrDefault(m => Host(m.Id).Dormant && (!m.Voter || latest.Voters.Count > 1));
        if (stopped is not null)
        {
            _changeInFlightUntilMs = NowMs + Options.ClientTimeoutMs * 4;
            leader.ChangeMembership(new MembershipChange(MembershipChangeKind.Remove, stopped.Id), new MembershipAnswer(this, null));
            return;
        }

        if (spare is not null && latest.Members.Count < MembersMax)
        {
            choices.Add(new MembershipChange(MembershipChangeKind.AddLearner, spare.Id, $"sim:{spare.Id}"));
            choices.Add(new MembershipChange(MembershipChangeKind.AddLearner, spare.Id, $"sim:{spare.Id}"));
        }

        foreach (var member in latest.Members)
        {
            if (!member.Voter || latest.Voters.Count > 1)
            {
                choices.Add(new MembershipChange(MembershipChangeKind.Remove, member.Id));
            }
        }

        choices.Add(new MembershipChange(MembershipChangeKind.SetEndpoint, latest.Members[Random.Next(latest.Members.Count)].Id, $"sim:{NowMs}"));
        var change = choices[Random.Next(choices.Count)];
        if (change.Kind == MembershipChangeKind.AddLearner)
        {
            var joining = Host(change.ReplicaId);
            joining.EverJoined = true;
            joining.JoinedAtMs = NowMs;
            joining.Join();
            _activeIds = null;
            Faults.ReplicasJoined++;
        }

        _changeInFlightUntilMs = NowMs + Options.ClientTimeoutMs * 4;
        var removesLeader = change.Kind == MembershipChangeKind.Remove && change.ReplicaId == leader.Id;
        leader.ChangeMembership(change, new MembershipAnswer(this, change.Kind == MembershipChangeKind.AddLearner ? Host(change.ReplicaId) : null, removesLeader ? change : null));
    }

    /// <summary>
    /// Stops the replicas that no configuration from the most advanced replica's commit point on holds, once a quorum of
    /// the configuration in effect knows it is (their commit index reached the slot it took effect at): until then a
    /// removed replica may be the only one that can tell the new voters what was chosen, as the operator of a real
    /// cluster waits for `synod member list` to show the new voters caught up before stopping the old replica.
    /// A spare whose join was never chosen is stopped too.
    /// </summary>
    private void RetireRemoved()
    {
        var reference = _hosts.Where(h => h.Up).MaxBy(h => h.Core.CommitIndex);
        if (reference is null)
        {
            return;
        }

        _idMaxSeen = Math.Max(_idMaxSeen, _hosts.Where(h => h.Up).Max(h => h.Core.LatestConfiguration.IdMax));
        var current = reference.Core.CurrentConfiguration;
        var from = reference.Core.ConfigurationEpochs.Last(e => e.EffectiveFrom <= reference.Core.CommitIndex + 1).EffectiveFrom;
        var knowing = current.Voters.Where(id => Host(id).Up && Host(id).Core.CommitIndex + 1 >= from).ToList();
        var idMax = _idMaxSeen;
        foreach (var host in _hosts.Where(h => !h.Dormant).ToList())
        {
            if (host.Id > idMax)
            {
                if (NowMs - host.JoinedAtMs > JoinAnswerMsMax)
                {
                    // Its join was never chosen (the request was lost with a leader): the operator gives up on it.
                    JoinFailed(host);
                }
            }
            else if (host.Id <= reference.Core.LatestConfiguration.IdMax && Leaving(host) && current.IsQuorum(knowing, smallQuorumBug: false))
            {
                host.Retire();
                _activeIds = null;
                Faults.ReplicasRetired++;
            }
        }
    }

    /// <summary>A spare whose join was refused, or whose request failed, stops again (its id stays used).</summary>
    private void JoinFailed(SimReplicaHost joining)
    {
        if (!joining.Dormant)
        {
            joining.Retire();
            _activeIds = null;
            Faults.ReplicasRetired++;
        }
    }

    /// <summary>
    /// Asks the leader there is now to remove the replica that led when the removal was asked for: it handed its
    /// leadership over first and answered "not the leader", and the operator (as the client library does) follows.
    /// </summary>
    private void FollowRemovalOfLeader(MembershipChange removal)
    {
        Schedule(NowMs + 50, Tracing ? "follow the removal of the old leader" : null, () =>
        {
            var leader = CurrentLeader;
            if (leader is null || leader.Id == removal.ReplicaId || _leaseHoldersStopped)
            {
                return;
            }

            Faults.LeaderRemovalsFollowed++;
            _changeInFlightUntilMs = NowMs + Options.ClientTimeoutMs * 4;
            leader.ChangeMembership(removal, new MembershipAnswer(this, null, null));
        });
    }

    private sealed class MembershipAnswer(Simulator sim, SimReplicaHost? joining, MembershipChange? removesLeader = null) : IAnswer<MembershipOutcome>
    {
        public bool Abandoned => false;

        public void Complete(MembershipOutcome result)
        {
            if (result.Configuration is null)
            {
                sim.Faults.ReconfigurationsRefused++;
                if (joining is not null)
                {
                    sim.JoinFailed(joining);
                }
            }
            else
            {
                sim.Faults.Reconfigurations++;
            }
        }

        public void Fail(ReplicaFailure failure)
        {
            if (removesLeader is not null && failure == ReplicaFailure.NoLeader)
            {
                sim.FollowRemovalOfLeader(removesLeader);
                return;
            }

            sim.Faults.ReconfigurationsRefused++;
            if (joining is not null)
            {
                sim.JoinFailed(joining);
            }
        }
    }
}
