using Synod.Core;
using Synod.Core.Messages;

namespace Synod.Simulation;

/// <summary>
/// The fault schedule of the safety phase: crashes (mostly of a minority, now and then of a majority) with
/// restarts after a random delay, partitions (some one-way, some isolating the leader), on top of the network's
/// loss and duplication, and now and then a targeted fault (Simulator.Targeted.cs) that runs its own schedule.
/// Healing restarts every replica and removes every partition and loss, once no targeted fault runs.
/// </summary>
public sealed partial class Simulator
{
    private const double MajorityCrashProbability = 0.1;
    private const double OneWayPartitionProbability = 0.3;
    private const double DiskWipeProbability = 0.15;
    private const double SectorCorruptionProbability = 0.3;

    /// <summary>How much slower a slow clock ticks, and for how long at most.</summary>
    private const int SlowClockFactor = 8;
    private const int SlowClockMsMax = 3_000;

    private bool _healed;
    private bool _healWhenTargetedEnds;
    private long _healedAtMs;
    private bool _partitioned;

    /// <summary>Counts partitions begun, so that an old partition's heal leaves a newer one alone.</summary>
    private long _partitionEpoch;

    private void ScheduleNextFault()
    {
        var gap = 1 + Random.Next(2 * Options.FaultGapMsMean);
        Schedule(NowMs + gap, Tracing ? "fault" : null, () =>
        {
            if (_healed)
            {
                return;
            }

            InjectFault();
            ScheduleNextFault();
        });
    }

    private void InjectFault()
    {
        if (_targeted is not null || MaybeStartTargetedFault())
        {
            return;
        }

        var roll = Random.Next(100);
        if (roll < 4)
        {
            ForgeMessages();
        }
        else if (roll < 12)
        {
            SlowSomeClock();
        }
        else if (roll < 40)
        {
            CrashSomeReplica();
        }
        else if (roll < 50)
        {
            PowerFailure();
        }
        else if (roll < 55)
        {
            LoseTheDiskThatKnows();
        }
        else if (roll < 82)
        {
            PartitionRandomly();
        }
        else
        {
            IsolateLeader();
        }
    }

    /// <summary>One replica's timer runs slow for a while, most often a follower's, so that it stands late and stays a candidate long.</summary>
    private void SlowSomeClock()
    {
        var victim = _hosts[Random.Next(_hosts.Length)];
        victim.SlowClockUntilMs = NowMs + 1 + Random.Next(SlowClockMsMax);
        Faults.SlowClocks++;
    }

    private void CrashSomeReplica()
    {
        var up = _hosts.Where(h => h.Up).ToList();
        var down = ActiveIds.Count - up.Count;
        var minority = (VotersInPlay - 1) / 2;
        if (up.Count == 0 || (down + 1 > minority && !Random.Chance(MajorityCrashProbability)))
        {
            return;
        }

        var victim = up[Random.Next(up.Count)];
        victim.Crash();
        Faults.Crashes++;
        if (Random.Chance(DiskWipeProbability) && CanLoseAnotherDisk())
        {
            victim.LoseDisk();
            Faults.DiskWipes++;
        }
        else
        {
            MaybeCorruptSector(victim);
        }
        var restartAt = NowMs + 50 + Random.Next(1500);
        Schedule(restartAt, Tracing ? $"restart r{victim.Id}" : null, () => Restart(victim));
    }

    /// <summary>
    /// Messages that no correct replica could send, in a member's name, to one replica (docs/protocol.md, peer message
    /// rules): an Accept at the leader's ballot from another member for the target's next slot, claiming it chosen (V3);
    /// an Accept at a huge ballot of a non-member (V2); an Accept and a Heartbeat naming slots and commit indexes past
    /// 2^53 (V4, V5). The cores must drop every one; with --bug skip-validation the first makes the target apply a value
    /// no one chose.
    /// </summary>
    private void ForgeMessages()
    {
        var leader = _hosts.FirstOrDefault(h => h.Up && h.Core.Role == ReplicaRole.Leader);
        if (leader is null || _hosts.Length < 3)
        {
            return;
        }

        var targets = _hosts.Where(h => h != leader && h.Up).ToList();
        if (targets.Count == 0)
        {
            return;
        }

        var target = targets[Random.Next(targets.Count)];
        var sender = _hosts.First(h => h != leader && h != target).Id;
        var slot = target.Core.CommitIndex + 1;
        var huge = 1L << 62;
        Message[] forged =
        [
            new Accept(sender, target.Id, leader.Core.Ballot, slot, [], slot),
            new Accept(sender, target.Id, new Ballot(leader.Core.Ballot.Round + 1000, 99), slot, [], slot),
            new Accept(leader.Id, target.Id, leader.Core.Ballot, huge, [], huge),
            new Heartbeat(sender, target.Id, Ballot.Zero, false, huge, 0, 0),
        ];
        foreach (var message in forged)
        {
            Faults.ForgedMessages++;
            SendPeerMessage(message);
        }
    }

    /// <summary>
    /// A majority, or every replica, crashes at the same instant (a rack losing power): whatever a quorum
    /// acknowledged but had not synced is lost at once, which is what an acknowledgement before fsync risks.
    /// </summary>
    private void PowerFailure()
    {
        var victims = _hosts.Where(h => h.Up).ToList();
        var count = Random.Chance(0.5) ? victims.Count : Math.Min(victims.Count, (ActiveIds.Count / 2) + 1);
        while (victims.Count > count)
        {
            victims.RemoveAt(Random.Next(victims.Count));
        }

        var restartAt = NowMs + 50 + Random.Next(1000);
        foreach (var victim in victims)
        {
            victim.Crash();
            Faults.Crashes++;
            Schedule(restartAt + Random.Next(50), Tracing ? $"restart r{victim.Id}" : null, () => Restart(victim));
        }

        Faults.PowerFailures++;
    }

    /// <summary>
    /// The disk loss that hurts most: q-1 followers are cut off while the rest keep choosing values, then the leader and
    /// the remaining others crash and the one replica that still knows those values loses its disk and comes back at
    /// once, next to the laggards, just as the partition heals. Were it to vote at once, it and the laggards would be a
    /// quorum that knows nothing of the values chosen meanwhile.
    /// </summary>
    private void LoseTheDiskThatKnows()
    {
        var leader = _hosts.FirstOrDefault(h => h.Up && h.Core.Role == ReplicaRole.Leader);
        if (_partitioned || leader is null || _hosts.Any(h => !h.Up) || !CanLoseAnotherDisk() || Reconfiguring)
        {
            return;
        }

        var quorum = (_hosts.Length / 2) + 1;
        var followers = _hosts.Where(h => h != leader).OrderBy(_ => Random.Next(1000)).ToList();
        var knower = followers[0];
        var laggards = followers.Skip(1).Take(quorum - 1).Select(h => h.Id).ToHashSet();
        var others = followers.Skip(quorum).Append(leader).ToList();
        StartPartition(laggards, oneWay: false);
        Schedule(NowMs + 100 + Random.Next(500), Tracing ? $"r{knower.Id} loses its disk" : null, () =>
        {
            if (_healed || _targeted is not null || !knower.Up || !CanLoseAnotherDisk())
            {
                return;
            }

            foreach (var other in others.Where(h => h.Up))
            {
                other.Crash();
                Faults.Crashes++;
                Schedule(NowMs + 300 + Random.Next(1500), Tracing ? $"restart r{other.Id}" : null, () => Restart(other));
            }

            knower.Crash();
            Faults.Crashes++;
            knower.LoseDisk();
            Faults.DiskWipes++;
            ClearPartition();
            Restart(knower);
        });
    }

    /// <summary>
    /// A rebuilding replica needs a quorum of voting peers to answer it; with more disks lost than that allows, no
    /// protocol can recover safely, so the simulator loses at most that many at once.
    /// </summary>
    internal bool CanLoseAnotherDisk()
    {
        if (!MembershipSettled)
        {
            return false;
        }

        var rebuilding = _hosts.Count(h => !h.Dormant && (h.DurablyRebuilding || h.SectorCorrupted));
        // A run that changes membership assumes one voter fewer than it has: a removal chosen later than the operator
        // waited for must not leave more replicas rebuilding than the smaller configuration tolerates.
        var voters = Reconfiguring ? Math.Max(1, VotersInPlay - 1) : VotersInPlay;
        var quorum = (voters / 2) + 1;
        return rebuilding + 1 <= voters - quorum;
    }

    /// <summary>With --corrupt-sectors, now and then a crash also damages a synced sector of the victim's disk.</summary>
    private void MaybeCorruptSector(SimReplicaHost victim)
    {
        if (Options.CorruptSectors && Random.Chance(SectorCorruptionProbability) && CanLoseAnotherDisk() && victim.CorruptSector() is not null)
        {
            Faults.SectorsCorrupted++;
        }
    }

    private void Restart(SimReplicaHost host)
    {
        if (host.Up || host.Dormant)
        {
            return;
        }

        host.Start();
        Faults.Restarts++;
    }

    private void PartitionRandomly()
    {
        if (_partitioned || _hosts.Length < 2)
        {
            return;
        }

        var sideA = new HashSet<int>();
        var size = 1 + Random.Next(_hosts.Length - 1);
        while (sideA.Count < size)
        {
            sideA.Add(1 + Random.Next(_hosts.Length));
        }

        StartPartition(sideA, Random.Chance(OneWayPartitionProbability));
    }

    private void IsolateLeader()
    {
        var leader = _hosts.FirstOrDefault(h => h.Up && h.Core.Role == ReplicaRole.Leader);
        if (_partitioned || leader is null || _hosts.Length < 2)
        {
            return;
        }

        StartPartition([leader.Id], oneWay: Random.Chance(OneWayPartitionProbability));
    }

    private void StartPartition(HashSet<int> sideA, bool oneWay)
    {
        _partitioned = true;
        Faults.Partitions++;
        if (oneWay)
        {
            Faults.OneWayPartitions++;
        }

        for (var from = 1; from <= _hosts.Length; from++)
        {
            for (var to = 1; to <= _hosts.Length; to++)
            {
                var crosses = sideA.Contains(from) != sideA.Contains(to);
                _blocked[from, to] = crosses && (!oneWay || sideA.Contains(from));
            }
        }

        var epoch = ++_partitionEpoch;
        var healAt = NowMs + 100 + Random.Next(1500);
        Schedule(healAt, Tracing ? "partition heals" : null, () =>
        {
            // A partition cleared early (by the targeted disk loss) must not clear whatever came after it.
            if (epoch == _partitionEpoch)
            {
                ClearPartition();
            }
        });
    }

    private void ClearPartition()
    {
        Array.Clear(_blocked);
        _partitioned = false;
    }

    /// <summary>Ends the safety phase: every replica up, every link whole, every clock at its rate, no loss or duplication.</summary>
    private void HealEverything()
    {
        if (_healed)
        {
            return;
        }

        if (_targeted is not null)
        {
            // A targeted fault runs to its end (each of its steps is bounded by TargetedStepMsMax): cut short, it would
            // rarely reach the schedule it was written for, since clients finish fast while it keeps other faults away.
            _healWhenTargetedEnds = true;
            return;
        }

        _healed = true;
        _healedAtMs = NowMs;
        ClearPartition();
        foreach (var host in _hosts)
        {
            Restart(host);

            // Clocks run at the same rate again too (a slow or fast clock is a fault like any other).
            host.SlowClockUntilMs = Math.Min(host.SlowClockUntilMs, NowMs);
            _clockUntilMs[host.Id] = Math.Min(_clockUntilMs[host.Id], NowMs);
        }

        ScheduleLivenessWatch();
    }
}
