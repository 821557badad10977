using System.Security.Cryptography;
using System.Text;
using Synod.Checker;
using Synod.Core;
using Synod.Core.Messages;
using Synod.Storage;

namespace Synod.Simulation;

/// <summary>
/// A deterministic discrete-event simulation of a whole cluster: every replica's real core and state machine,
/// a simulated network (delay, loss, duplication, reordering, partitions including one-way ones), simulated disks
/// (a crash loses unsynced writes), crashes and restarts, and clients that time out and retry elsewhere.
/// Everything random comes from one seed, and events run in (time, sequence) order, so a seed replays byte
/// for byte. A run has a safety phase under faults, then a liveness phase with every fault healed.
/// Parts: Simulator.Network.cs, Simulator.Faults.cs, Simulator.Clients.cs, Simulator.Targeted.cs (with the targeted
/// faults StalledCandidacyFault.cs and ForgottenLifeFault.cs).
/// </summary>
public sealed partial class Simulator
{
    /// <summary>After the last client finishes, how long replicas get to converge before states are compared.</summary>
    private const long ConvergenceMs = 3_000;

    /// <summary>Simulated state is small; chunks this small make every transfer take several.</summary>
    private const int SnapshotChunkBytes = 24;

    /// <summary>
    /// In runs that change membership: joining replicas start empty and must take a whole snapshot, and a transfer
    /// starts over whenever its source takes a newer snapshot (every SnapshotEverySlots); with 24-byte chunks they
    /// could not finish under the clients' load (a known limit, docs/protocol.md, "Membership").
    /// </summary>
    private const int ReconfiguringSnapshotChunkBytes = 256;

    private readonly PriorityQueue<Action, (long AtMs, long Sequence)> _events = new();
    private readonly SimReplicaHost[] _hosts;
    private readonly IncrementalHash? _trace;
    private readonly List<string> _violations = [];

    /// <summary>Until when a targeted fault sets a replica's timer to another rate, and the ms between its ticks meanwhile (by id).</summary>
    private readonly long[] _clockUntilMs;
    private readonly long[] _clockTickMs;
    private long _sequence;
    private bool _finished;
    private bool _convergenceWindowEnded;

    private Simulator(SimulationOptions options)
    {
        options.Validate();
        Options = options;
        Random = new SeededRandom(Mix((ulong)options.Seed, 0x5EED));

        // Drawn from its own stream, so that runs without the upgrade fault keep their schedules.
        BeforeUpgrade = new SeededRandom(Mix((ulong)options.Seed, 0x0D1D)).Chance(options.UpgradeProbability);

        _historyRandom = new SeededRandom(Mix((ulong)options.Seed, 0x4158));

        // A window of a few revisions in some runs, so that trimming, and reads refused as compacted, happen too.
        HistoryLimits = new SeededRandom(Mix((ulong)options.Seed, 0x4157)).Next(3) switch
        {
            0 => new Synod.Kv.KvHistoryLimits(Revisions: 4, Bytes: long.MaxValue),
            1 => new Synod.Kv.KvHistoryLimits(Revisions: 1_000, Bytes: 2_000),
            _ => Synod.Kv.KvHistoryLimits.Default,
        };
        // Its own stream: a quota of a few keys, so that the data reaches it often.
        var quotaRandom = new SeededRandom(Mix((ulong)options.Seed, 0x9A07));
        QuotaBytes = quotaRandom.Chance(options.QuotaProbability) || (options.Bugs & ProtocolBugs.QuotaIgnored) != 0 ? 80 + quotaRandom.Next(81) : null;
        Faults.QuotaRuns = QuotaBytes is null ? 0 : 1;
        _trace = options.TraceHash ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;

        // Drawn from its own stream too; a run that changes membership has spares that join later with new ids.
        // The membership bugs need a run whose membership changes to show.
        Reconfiguring = new SeededRandom(Mix((ulong)options.Seed, 0xC0F6)).Chance(options.ReconfigureProbability) ||
            (options.Bugs & (ProtocolBugs.ConfigurationAtOnce | ProtocolBugs.LearnerVotes)) != 0;
        _handoverRandom = new SeededRandom(Mix((ulong)options.Seed, 0x4A0D));
        HandingOver = _handoverRandom.Chance(options.HandoverProbability) || (options.Bugs & ProtocolBugs.HandoverSkipsPhase1) != 0;

        // Its own stream again. The build before revisions knows no users, and one client alone could not both set
        // authentication up and write as the limited user.
        Authenticating = !BeforeUpgrade && options.Clients >= 2 &&
            (new SeededRandom(Mix((ulong)options.Seed, 0xA077)).Chance(options.AuthProbability) || (options.Bugs & (ProtocolBugs.PermissionsIgnored | ProtocolBugs.SnapshotDropsAuth | ProtocolBugs.WatchOutlivesAuthChange | ProtocolBugs.OldCommandsByOldestRules)) != 0);

        // Its own stream: a run with authentication may begin on the build before lease owners and be upgraded in place.
        BeforeLeaseOwners = Authenticating &&
            (new SeededRandom(Mix((ulong)options.Seed, 0x0A6E)).Chance(options.UpgradeProbability) || (options.Bugs & ProtocolBugs.OldCommandsByOldestRules) != 0);
        _authSetup = Authenticating ? AuthSetup(options.Keys, BeforeLeaseOwners) : [];
        var hosts = options.Replicas + (Reconfiguring ? SpareReplicas : 0);
        var members = Enumerable.Range(1, options.Replicas).ToArray();
        _blocked = new bool[hosts + 1, hosts + 1];
        _clockUntilMs = new long[hosts + 1];
        _clockTickMs = new long[hosts + 1];
        _hosts = new SimReplicaHost[hosts];
        for (var i = 0; i < hosts; i++)
        {
            // Small snapshot chunks, so that transfers take many chunks and their loss, duplication and reordering are exercised.
            var replicaOptions = new ReplicaOptions
            {
                Id = i + 1, Members = members, Bugs = options.Bugs, SnapshotChunkBytes = Reconfiguring ? ReconfiguringSnapshotChunkBytes : SnapshotChunkBytes,
                ProposalWaitTicksMax = Math.Max(1, options.ClientTimeoutMs / options.TickMs),

                // As `synod serve` ships (ServerOptions.PreferredLeader); the core's own default is none.
                PreferredLeader = options.PreferredLeader,

                // A spare joins knowing the members of the configuration that adds it, as `serve --join` fetches them.
                MemberIdMax = i >= options.Replicas ? i + 1 : 0,
            };
            _hosts[i] = new SimReplicaHost(this, replicaOptions, dormant: i >= options.Replicas);
        }

        _clients = new SimClient[options.Clients];
        for (var c = 0; c < options.Clients; c++)
        {
            _clients[c] = new SimClient(c + 1);
        }
    }

    public SimulationOptions Options { get; }

    public SeededRandom Random { get; }

    public FaultCounters Faults { get; } = new();

    /// <summary>The bytes the keys, values and leased keys of <paramref name="kv"/> count for, from scratch (KvStateMachine.DataBytes).</summary>
    private static long Recount(Synod.Kv.KvStateMachine kv)
    {
        long bytes = 0;
        var range = new Synod.Kv.KvRange([], []);
        while (true)
        {
            var page = kv.Range(range);
            foreach (var (key, entry) in page.Entries)
            {
                bytes += Synod.Kv.KvStateMachine.EntryBytes(key.Length, entry.Value.Length) + (kv.LeaseOf(key) != 0 ? key.Length + 2 : 0);
            }

            if (!page.More)
            {
                return bytes;
            }

            range = new Synod.Kv.KvRange([.. page.Entries[^1].Key, 0], []);
        }
    }

    /// <summary>A finding of a check made at a replica host (the quota oracle), at the simulated time it was made.</summary>
    internal void Violation(string finding) => _violations.Add($"at {NowMs} ms: {finding}");

    /// <summary>The replicas' write quota in this run (<see cref="SimulationOptions.QuotaProbability"/>); null: the default, never reached.</summary>
    public long? QuotaBytes { get; }

    public SafetyOracle Oracle { get; } = new();

    public long NowMs { get; private set; }

    public bool Tracing => _trace is not null;

    public static SimulationResult Run(SimulationOptions options) => new Simulator(options).RunToEnd();

    /// <summary>Mixes numbers into one well-spread seed (SplitMix64 finaliser over each).</summary>
    public static ulong Mix(params ulong[] values)
    {
        var state = 0x243F6A8885A308D3UL;
        foreach (var value in values)
        {
            state = new SeededRandom(state ^ value).NextUInt64();
        }

        return state;
    }

    public void Schedule(long atMs, string? label, Action action)
    {
        var sequence = ++_sequence;
        _events.Enqueue(() =>
        {
            if (_trace is not null && label is not null)
            {
                _trace.AppendData(Encoding.UTF8.GetBytes($"{NowMs} {label}\n"));
            }

            action();
        }, (atMs, sequence));
    }

    private SimulationResult RunToEnd()
    {
        foreach (var host in _hosts)
        {
            ScheduleTicks(host, Random.Next(Options.TickMs));
        }

        ScheduleNextFault();
        ScheduleNextReconfiguration();
        ScheduleNextHandover();
        StartWatchers();
        StartLeaseHolders();
        foreach (var client in _clients)
        {
            Schedule(Random.Next(20), Tracing ? $"client {client.Index} starts" : null, () => StartNextOperation(client));
        }

        while (!_finished && _events.TryDequeue(out var action, out var at))
        {
            NowMs = at.AtMs;
            if (NowMs > Options.RunMsMax)
            {
                _violations.Add($"the run passed {Options.RunMsMax} ms of simulated time without finishing (no progress).");
                break;
            }

            try
            {
                action();
            }
            catch (Exception e) when (e is StorageException or InvalidOperationException or InvalidDataException or Synod.Kv.KvFormatException)
            {
                // A replica refused to start on damaged state, an invariant broke, or a replica was handed a snapshot its
                // state machine cannot read: a finding of this seed, not a crash of the whole run.
                _violations.Add($"at {NowMs} ms: {e.GetType().Name}: {e.Message}");
                break;
            }
        }

        return Conclude();
    }

    private void ScheduleTicks(SimReplicaHost host, long atMs)
    {
        Schedule(atMs, null, () =>
        {
            if (host.Up)
            {
                host.OnTick();
            }

            var tickMs = _clockUntilMs[host.Id] > NowMs ? _clockTickMs[host.Id]
                : host.SlowClockUntilMs > NowMs ? Options.TickMs * SlowClockFactor
                : Options.TickMs;
            ScheduleTicks(host, atMs + tickMs);
        });
    }

    private void OnClientsDone()
    {
        // Lease holders stop too; their leases expire within a TTL or two, and the replicas must converge after that.
        _leaseHoldersStopped = true;
        Schedule(NowMs + ConvergenceMs + (_leaseHolders.Count > 0 ? 2 * LeaseTtlMs : 0), "converged?", () =>
        {
            CheckPreferredLeader();
            _convergenceWindowEnded = true;
            _finished = true;
        });
    }

    private SimulationResult Conclude()
    {
        _violations.InsertRange(0, Oracle.Violations);
        if (Oracle.ViolationCount > Oracle.Violations.Count)
        {
            _violations.Insert(Oracle.Violations.Count, $"... and {Oracle.ViolationCount - Oracle.Violations.Count} more safety violations of the same kinds.");
        }
        if (_convergenceWindowEnded)
        {
            CheckConvergence();
        }

        CheckWatchersCovered();
        if (!_convergenceWindowEnded)
        {
            AddWritesInFlightAsUnknown();
        }

        var result = LinearizabilityChecker.Check(_history, TimeSpan.FromSeconds(60));
        if (!result.Linearizable)
        {
            _violations.Add(result.TimedOut
                ? "the linearizability check ran out of time (treated as a violation)."
                : $"the client history is not linearizable (key {result.FailingKey}).");
        }

        string? traceHash = null;
        if (_trace is not null)
        {
            _trace.AppendData(Encoding.UTF8.GetBytes(string.Join("\n", _violations)));
            traceHash = Convert.ToHexStringLower(_trace.GetHashAndReset());
        }

        return new SimulationResult(Options.Seed, _violations, result.OperationsChecked, Faults, traceHash, _history, result.Counterexample);
    }

    private void CheckConvergence()
    {
        var first = _hosts.FirstOrDefault(h => !h.Dormant && h.Up && !Leaving(h)) ?? _hosts[0];
        if (first.Up)
        {
            CheckBankAtEnd(first.Kv);
            CheckCounterAtEnd(first.Kv);
        }

        foreach (var host in _hosts.Where(h => !h.Dormant && !Leaving(h)))
        {
            if (!host.Up)
            {
                _violations.Add($"replica {host.Id} is down at the end although every fault was healed.");
                return;
            }

            if (host.Kv.AppliedSlot != first.Kv.AppliedSlot || host.Kv.ContentHash() != first.Kv.ContentHash())
            {
                _violations.Add($"replicas did not converge {ConvergenceMs} ms after the last operation: replica {first.Id} applied " +
                    $"{first.Kv.AppliedSlot} slots (hash {first.Kv.ContentHash():x}), replica {host.Id} applied {host.Kv.AppliedSlot} (hash {host.Kv.ContentHash():x}). {DescribeReplicas()}");
                return;
            }

            // The write quota's count is kept up to date by every write path: it must equal a count from scratch.
            if (Recount(host.Kv) is var counted && counted != host.Kv.DataBytes)
            {
                _violations.Add($"replica {host.Id} counts {host.Kv.DataBytes} bytes of keys and values for the write quota, but they add up to {counted}.");
                return;
            }

            // With nothing waiting, nothing is held back of the quota.
            if (host.WritesWaiting == 0 && host.QuotaReserved != 0)
            {
                _violations.Add($"replica {host.Id} holds {host.QuotaReserved} bytes of the write quota back with no write waiting.");
                return;
            }

            // The hash leaves out the sessions and the client ids assigned; the snapshot bytes hold everything, sorted.
            if (!host.Kv.SnapshotInProgress && !first.Kv.SnapshotInProgress && !host.Kv.Snapshot().AsSpan().SequenceEqual(first.Kv.Snapshot()))
            {
                _violations.Add($"replicas did not converge {ConvergenceMs} ms after the last operation: replicas {first.Id} and {host.Id} hold the same keys " +
                    $"at slot {host.Kv.AppliedSlot} but different sessions (their snapshot bytes differ), so they would answer a retry differently.");
                return;
            }
        }
    }

    private SimReplicaHost Host(int id) => _hosts[id - 1];

    private string DescribeReplicas() => string.Join("; ", _hosts.Where(h => !h.Dormant).Select(h => h.Up
        ? $"r{h.Id} {h.Core.Role} leader={h.Core.LeaderId?.ToString() ?? "-"} ballot={h.Core.Ballot} promised={h.Core.Promised} commit={h.Core.CommitIndex} applied={h.Kv.AppliedSlot} cfg=[{string.Join(" / ", h.Core.ConfigurationEpochs.Select(e => $"{e.Configuration} from {e.EffectiveFrom}"))}]"
        : $"r{h.Id} down"));
}
