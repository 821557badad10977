using Synod.Core;

namespace Synod.Simulation;

/// <summary>
/// The preferred-leader rule's oracle (docs/protocol.md, "Preferred leader"). Two checks, neither of which reads how the
/// core decides: a handover the rule starts goes to a replica that has been up for at least the stability window (at the
/// fastest clock any replica runs in this simulator), so one that keeps restarting never gets it, and a leader starts at
/// most one such handover per window in one life; and once the run has
/// been quiet (no fault, handover or membership change) for <see cref="PreferredQuietMs"/>, with every voter up and none
/// rebuilding, the leader is the largest voter.
/// </summary>
public sealed partial class Simulator
{
    /// <summary>When the simulator last moved leadership or membership itself (a handover asked, a change proposed), or healed.</summary>
    private long _lastLeadershipEventMs;

    private int PreferredStableTicks => new ReplicaOptions { Id = 1, Members = [1] }.PreferredLeaderStableTicks;

    private long ElectionTimeoutMs => new ReplicaOptions { Id = 1, Members = [1] }.ElectionTimeoutTicks * (long)Options.TickMs;

    /// <summary>The stability window, a handover and an election or two: after this long quiet, the preferred voter leads.</summary>
    private long PreferredQuietMs => (PreferredStableTicks * (long)Options.TickMs) + (6 * ElectionTimeoutMs);

    private void NoteLeadershipEvent() => _lastLeadershipEventMs = NowMs;

    /// <summary>Per replica: when, and in which life (its start time), it last started a handover for the rule.</summary>
    private readonly Dictionary<int, (long AtMs, long LifeStartedAtMs)> _lastRuleHandover = [];

    /// <summary><paramref name="leader"/> started a handover to <paramref name="target"/> for the preferred-leader rule.</summary>
    internal void OnPreferredHandover(SimReplicaHost leader, int target)
    {
        Faults.PreferredHandovers++;
        var host = Host(target);
        // The life the leader heard: a target down by now crashed after the leader last heard it; one that started less
        // than an election timeout ago may not have been heard yet (a gap that short, bridged by a late message of its
        // previous life, cannot be seen), so its previous life counts if longer.
        var life = NowMs - host.StartedAtMs;
        var upMs = !host.Up ? host.LastLifeMs : life < ElectionTimeoutMs ? Math.Max(life, host.LastLifeMs) : life;
        var fastestTickMs = Math.Min(Options.TickMs, Options.ForgottenLifeClimbingTickMs);
        var leastMs = PreferredStableTicks * (long)fastestTickMs;
        if (_lastRuleHandover.TryGetValue(leader.Id, out var last) && last.LifeStartedAtMs == leader.StartedAtMs && NowMs - last.AtMs < leastMs)
        {
            _violations.Add($"at {NowMs} ms: replica {leader.Id} started a handover for the preferred-leader rule {NowMs - last.AtMs} ms after its last one; " +
                $"the rule allows one per stability window ({PreferredStableTicks} ticks, at least {leastMs} ms at the fastest clock here).");
            _finished = true;
        }

        _lastRuleHandover[leader.Id] = (NowMs, leader.StartedAtMs);
        if (_targeted is BridgeFault bridge && bridge.OnRuleHandover(leader, target) is { } bridged)
        {
            _violations.Add(bridged);
            _finished = true;
        }
        if (upMs < leastMs)
        {
            _violations.Add($"at {NowMs} ms: replica {leader.Id} handed its leadership to replica {target} for the preferred-leader rule " +
                $"{(host.Up ? $"{life} ms after it started" : $"whose last life, which ended {NowMs - host.CrashedAtMs} ms ago, lasted {upMs} ms")}; the stability window is {PreferredStableTicks} ticks " +
                $"(at least {leastMs} ms at the fastest clock here), so a replica that keeps restarting would lead each time.");
            _finished = true;
        }
    }

    /// <summary>At the end of a healed run: after a quiet period, the largest voter leads.</summary>
    private void CheckPreferredLeader()
    {
        var quietMs = NowMs - Math.Max(_healedAtMs, _lastLeadershipEventMs);
        var leader = CurrentLeader;
        if (!_healed || quietMs < PreferredQuietMs || leader is null)
        {
            return;
        }

        var current = leader.Core.CurrentConfiguration;
        var latest = leader.Core.LatestConfiguration;
        var voters = _hosts.Where(h => !h.Dormant && current.IsVoter(h.Id) && latest.IsVoter(h.Id)).ToList();
        if (voters.Count == 0 || voters.Any(h => !h.Up || h.Core.Rebuilding || h.DurablyRebuilding))
        {
            return;
        }

        Faults.PreferredLeaderChecks++;
        var largest = voters.Max(h => h.Id);
        if (leader.Id != largest)
        {
            _violations.Add($"after {quietMs} ms without faults, handovers or membership changes replica {leader.Id} leads, not the largest voter, replica {largest}, " +
                $"which is up and not rebuilding (the leader says: {leader.Core.PreferredLeaderWait ?? "no preferred leader"}; its last handover given up: {leader.Core.LastHandoverFailure ?? "none"}). {DescribeReplicas()}");
        }
    }
}
