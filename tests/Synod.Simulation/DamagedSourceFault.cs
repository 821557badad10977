using Synod.Core.Messages;

namespace Synod.Simulation;

/// <summary>
/// A snapshot damaged on its source's disk after the source checked it: the source maps its snapshot's file and sends
/// peers chunks of the mapping, so bit rot the disk does not report reaches every learner that fetches it, every time.
/// Damage in the state's bytes: a learner refuses the snapshot (the state machine's checksum) and must then fetch
/// another peer's; asking the damaged source again (bug switch --bug refused-source-asked-again) keeps it from catching
/// up until that source takes a newer snapshot. Damage in the configuration header, which has no checksum of its own
/// and can still parse, or in the state machine's header, outside its checksum: the source must send the headers it
/// checked in memory, not its file's; sending the file's (--bug damaged-header-sent) has learners count quorums of a
/// configuration no replica chose. Steps, the replicas and the timings drawn from the seed:
/// 1. A follower F is cut off from everyone, what is in flight too, while the others go on choosing.
/// 2. Once the others' commit index is past F's, every other replica takes a snapshot at once, so that each can serve F
///    only with a snapshot.
/// 3. One of them, D, takes a newer snapshot than the rest (F asks the peer with the newest); once D sends from its
///    mapped file, a byte of that file is flipped (half the time in the configuration header, a quarter in the state machine's header, a quarter in its body) (D counts as a damaged disk from then on: its next start
///    finds the damage and rebuilds), and F's links heal. No replica takes a snapshot from then until the fault ends,
///    as in a quiet cluster: a newer one would replace the damaged copy and hide a learner stuck on it.
/// 4. F must get past D's snapshot slot within TargetedStepMsMax (a liveness check: a violation if it does not). The
///    fault ends once it has (counted), or gives up after TargetedStepMsMax in an earlier step.
/// </summary>
internal sealed class DamagedSourceFault : FollowerCutOffFault
{
    private readonly SimReplicaHost _source;
    private Step _step;
    private long _damagedSlot;
    private long _refusedAtHeal;
    private long _damageFoundAtHeal;
    private string _damage = "";

    private enum Step
    {
        CutOff,
        OthersSnapshot,
        NewestSnapshot,
        Healed,
        Over,
    }

    private DamagedSourceFault(Simulator sim, SimReplicaHost follower, SimReplicaHost source)
        : base(sim, follower)
    {
        _source = source;
    }

    /// <summary>
    /// Step 1, when the cluster is quiet and led, has at least three replicas, may lose another disk, and no clock runs
    /// slow (a slow clock stretches heartbeats and re-asks past what the liveness check allows).
    /// </summary>
    public static DamagedSourceFault? TryStart(Simulator sim)
    {
        var leader = sim.SittingLeader;
        // Before an upgrade the build writes old-format snapshots; a disk damaged now must not leave more replicas
        // rebuilding than a quorum tolerates.
        if (sim.Hosts.Count < 3 || !sim.Quiet || leader is null || sim.BeforeUpgrade || !sim.CanLoseAnotherDisk() || !sim.Hosts.All(sim.ClockIsNormal))
        {
            return null;
        }

        var followers = sim.Hosts.Where(h => h != leader).ToList();
        var follower = followers[sim.Random.Next(followers.Count)];
        var others = sim.Hosts.Where(h => h != follower).ToList();
        var fault = new DamagedSourceFault(sim, follower, others[sim.Random.Next(others.Count)]);
        sim.CutLinks((_, _) => false);
        fault.Enter(Step.CutOff);
        fault.Poll();
        return fault;
    }

    protected override bool CutOff => _step is Step.CutOff or Step.OthersSnapshot or Step.NewestSnapshot;

    /// <summary>Each tick: moves on once the step's condition holds.</summary>
    private void Poll()
    {
        Sim.Schedule(Sim.NowMs + Sim.Options.TickMs, null, () =>
        {
            if (_step == Step.Over)
            {
                return;
            }

            if (!Follower.Up || !_source.Up)
            {
                GiveUp();
                return;
            }

            var followerCommit = Follower.Core.CommitIndex;
            switch (_step)
            {
                case Step.CutOff when Others.Any(h => h.Core.CommitIndex > followerCommit + 1):
                    SnapshotOthers();
                    Enter(Step.OthersSnapshot);
                    break;
                case Step.OthersSnapshot when Others.All(h => h.Core.SnapshotSlot > followerCommit):
                    Enter(Step.NewestSnapshot);
                    break;
                case Step.NewestSnapshot:
                    var newestElsewhere = Others.Where(h => h != _source).Max(h => h.Core.SnapshotSlot);
                    if (_source.Core.SnapshotSlot <= newestElsewhere)
                    {
                        // Taken once the source has applied past the others' snapshots (CompactNow refuses until then).
                        if (_source.Core.AppliedIndex > newestElsewhere && _source.CompactNow())
                        {
                            Sim.Faults.TargetedSnapshots++;
                        }
                    }
                    else if (_source.DamageMappedSnapshot() is { } damage)
                    {
                        _damagedSlot = damage.Slot;
                        Sim.DamagedSnapshots.Add((_source.Id, damage.Slot));
                        Sim.Faults.MappedSnapshotsDamaged++;
                        _damage = damage.What;
                        _refusedAtHeal = Follower.Core.SnapshotsRefused;
                        _damageFoundAtHeal = _source.Core.SnapshotHeadersDamaged;

                        // No newer snapshot anywhere until the fault ends, as in a quiet cluster (a snapshot every
                        // SnapshotEverySlots would replace the damaged copy within the step, and hide a learner stuck on it).
                        foreach (var host in Others)
                        {
                            host.SnapshotsPaused = true;
                        }

                        Enter(Step.Healed);
                    }

                    break;
                case Step.Healed when followerCommit >= _damagedSlot:
                    Sim.Faults.DamagedSourcesGotPast += Follower.Core.SnapshotsRefused > _refusedAtHeal || _source.Core.SnapshotHeadersDamaged > _damageFoundAtHeal ? 1 : 0;
                    End();
                    return;
            }

            Poll();
        });
    }

    /// <summary>
    /// Moves to <paramref name="step"/>, and gives up if the fault is still there TargetedStepMsMax later; a follower
    /// still short of the damaged slot by then, with its links healed, is a liveness violation.
    /// </summary>
    private void Enter(Step step)
    {
        _step = step;
        Sim.GiveUpIfStillThere(() => _step == step, step == Step.Healed ? NotCaughtUp : GiveUp);
    }

    private void NotCaughtUp()
    {
        var refused = Follower.Core.SnapshotsRefused - _refusedAtHeal;
        Sim.ReportLivenessViolation(
            $"replica {Follower.Id} did not get past slot {_damagedSlot} within {Sim.Options.TargetedStepMsMax} ms of hearing its peers again " +
            $"(commit index {Follower.Core.CommitIndex}): it refused {refused} damaged snapshots of replica {_source.Id}, which found its header " +
            $"damaged in {_source.Core.SnapshotHeadersDamaged - _damageFoundAtHeal} chunks, while replicas " +
            $"{string.Join(", ", Others.Where(h => h != _source).Select(h => $"{h.Id} (snapshot at {h.Core.SnapshotSlot})"))} could serve it ({_damage})");
        End();
    }

    private void GiveUp() => Sim.AbandonTargetedFault(_step == Step.Over, End);

    private void End()
    {
        if (_step == Step.Over)
        {
            return;
        }

        _step = Step.Over;
        foreach (var host in Sim.Hosts)
        {
            host.SnapshotsPaused = false;
        }

        Sim.EndTargetedFault(this);
    }
}
