using System.Text;
using Synod.Core;
using Synod.Core.Messages;
using Synod.Kv;
using Synod.Simulation;

namespace Synod.Explorer;

/// <summary>
/// One state of the explored system: every replica (core, disk, state machine), the messages in flight and the fault
/// budget spent, with the simulator's <see cref="SafetyOracle"/> watching every apply. Built by replaying a schedule
/// from the initial state (the cores are deterministic, so a schedule is a state); <see cref="EnabledSteps"/> lists what
/// may happen next and <see cref="Apply"/> does one step. Messages in flight form a set: a message equal to one already
/// in flight adds nothing (with duplication enabled any message may be delivered again anyway).
/// </summary>
internal sealed class ExploredCluster
{
    private readonly ExplorerOptions _options;
    private readonly ExploredReplica[] _replicas;
    private readonly List<Message> _inFlight = [];
    private readonly List<ulong> _inFlightHashes = [];
    private readonly SafetyOracle _oracle = new();
    private readonly StringBuilder? _trace;
    private string? _stopped;
    private int _proposals;
    private int _crashes;
    private int _diskLosses;
    private int _snapshots;
    private int _drops;
    private int _duplicates;

    // While a Timeout step ticks a replica: which replica, and what to call when it sends more than heartbeats.
    private int _actingSender;
    private Action? _acted;

    // While a replica's time passes alone (TickAlone): what it must send for the wait to end, and whether it did.
    private Func<Message, bool>? _awaited;
    private bool _awaitedSent;

    // While a group settles: its many sends and deliveries are left out of a printed schedule.
    private bool _quiet;

    /// <summary>Deliveries one exchange or settle may make before the explorer gives up on it ever going quiet (a bug of the explorer, not a finding).</summary>
    private const int DeliveriesPerEpisodeMax = 100_000;

    public ExploredCluster(ExplorerOptions options, StringBuilder? trace = null)
    {
        _options = options;
        _trace = trace;
        _replicas = [.. Enumerable.Range(1, options.Replicas).Select(id => new ExploredReplica(options.CoreOptions(id), options.TickHorizonTicks, _oracle, Send))];
        foreach (var replica in _replicas)
        {
            replica.Log = trace is null ? null : line => trace.AppendLine("      " + line);
        }
    }

    /// <summary>A copy of <paramref name="source"/> to branch from (no trace): every replica through its own copy, the same messages in flight.</summary>
    private ExploredCluster(ExploredCluster source)
    {
        _options = source._options;
        _oracle = StateCloner.Copy(source._oracle);
        _replicas = [.. source._replicas.Select(r => r.Clone(_oracle, Send))];
        _inFlight.AddRange(source._inFlight);
        _inFlightHashes.AddRange(source._inFlightHashes);
        _stopped = source._stopped;
        (_proposals, _crashes, _diskLosses, _snapshots, _drops, _duplicates) =
            (source._proposals, source._crashes, source._diskLosses, source._snapshots, source._drops, source._duplicates);
        OverMessageBound = source.OverMessageBound;
    }

    /// <summary>More messages were in flight than InFlightMessagesMax allows: this schedule is cut here, not explored on.</summary>
    public bool OverMessageBound { get; private set; }

    /// <summary>The first broken invariant in this state, or null.</summary>
    public string? Violation =>
        _oracle.Violations.FirstOrDefault() ?? _stopped ?? _replicas.Select(r => r.KvFailure).FirstOrDefault(f => f is not null) ?? StateMachinesDisagree();

    public List<Step> EnabledSteps()
    {
        var steps = new List<Step>();
        var linksSeen = new HashSet<(int From, int To)>();
        for (var index = 0; index < _inFlight.Count; index++)
        {
            var to = _inFlight[index].To;
            if (!linksSeen.Add((_inFlight[index].From, to)) && !_options.ReorderWithinLink)
            {
                // Not the head of its link: it waits for the ones sent before it.
                continue;
            }

            steps.Add(new Step(StepKind.Deliver, to, index));
            AddIf(steps, Has(ExplorerFaults.Duplicate) && _duplicates < _options.DuplicatesMax, new Step(StepKind.Duplicate, to, index));
            AddIf(steps, Has(ExplorerFaults.Drop) && _drops < _options.DropsMax, new Step(StepKind.Drop, to, index));
        }

        foreach (var replica in _replicas)
        {
            var id = replica.Id;
            steps.Add(new Step(StepKind.Timeout, id));
            AddIf(steps, _proposals < _options.Slots, new Step(StepKind.Propose, id));
            AddIf(steps, Has(ExplorerFaults.Crash) && _crashes < _options.CrashesMax, new Step(StepKind.Crash, id));
            AddIf(steps, Has(ExplorerFaults.DiskLoss) && _diskLosses < _options.DiskLossesMax && MayLoseDisk(replica), new Step(StepKind.DiskLoss, id));
            AddIf(steps, Has(ExplorerFaults.Snapshot) && _snapshots < _options.SnapshotsMax && replica.Kv.AppliedSlot > replica.Core.SnapshotSlot,
                new Step(StepKind.Snapshot, id));
        }

        return steps;
    }

    public void Apply(Step step)
    {
        _trace?.AppendLine(Describe(step));
        var replica = _replicas[step.Replica - 1];
        try
        {
            ApplyTo(replica, step);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or KvFormatException)
        {
            // A core that stops on a broken assertion is a found bug, like an oracle's report.
            _stopped = $"replica {step.Replica} stopped: {e.Message}";
        }

        if (_trace is not null)
        {
            _trace.AppendLine("      " + Status());
        }
    }

    /// <summary>The hash that prunes repeated states: every replica's core, disk, unsynced records and state machine; the set of messages in flight; the oracle's record; the fault budget spent.</summary>
    public ulong Hash()
    {
        var hash = StateHasher.Of(_oracle, _options.TickHorizonTicks);
        foreach (var replica in _replicas)
        {
            hash = StateHasher.Combine(hash, replica.Hash());
        }

        var messages = 0UL;
        foreach (var messageHash in _inFlightHashes)
        {
            messages += StateHasher.Combine(messageHash, 1);
        }

        hash = StateHasher.Combine(hash, messages);
        return StateHasher.Combine(hash, StateHasher.Of(new[] { _proposals, _crashes, _diskLosses, _snapshots, _drops, _duplicates }, 0));
    }

    /// <summary>Messages delivered by the coarse steps so far (not part of the state: a measure of how many single steps a schedule stands for).</summary>
    public long MessagesDelivered { get; private set; }

    /// <summary>Ticks taken by replicas so far (not part of the state, like <see cref="MessagesDelivered"/>).</summary>
    public long TicksTaken { get; private set; }

    /// <summary>Client commands proposed so far in this schedule.</summary>
    public int Proposals => _proposals;

    public int Crashes => _crashes;

    public int DiskLosses => _diskLosses;

    public int Snapshots => _snapshots;

    /// <summary>Replica <paramref name="id"/>'s core, to read its role, ballot and commit point.</summary>
    public Replica Core(int id) => _replicas[id - 1].Core;

    /// <summary>Whether replica <paramref name="id"/> may take a snapshot now: its state machine applied past its last one.</summary>
    public bool MaySnapshot(int id) => _replicas[id - 1].Kv.AppliedSlot > _replicas[id - 1].Core.SnapshotSlot;

    /// <summary>The simulator's rule: never more replicas rebuilding than leaves a quorum of voters.</summary>
    public bool MayLoseDisk(int id) => MayLoseDisk(_replicas[id - 1]);

    /// <summary>A copy of this state to branch from, without a trace.</summary>
    public ExploredCluster Clone() => new(this);

    /// <summary>Delivers, in the order sent, what is in flight from <paramref name="from"/> to <paramref name="to"/> now; the answers stay in flight.</summary>
    public void DeliverLink(int from, int to)
    {
        var count = _inFlight.Count(m => m.From == from && m.To == to);
        for (var i = 0; i < count && _stopped is null; i++)
        {
            DeliverAt(_inFlight.FindIndex(m => m.From == from && m.To == to));
        }
    }

    /// <summary>Delivers, in the order sent, everything in flight between <paramref name="a"/> and <paramref name="b"/> (both ways) and their answers, until nothing is left between them.</summary>
    public void Exchange(int a, int b) => DeliverWhile(m => (m.From == a && m.To == b) || (m.From == b && m.To == a));

    /// <summary>
    /// The replicas of <paramref name="group"/> run together for <paramref name="ticks"/> ticks: each tick, every member ticks in id
    /// order and whatever is in flight between members is delivered at once, answers included. Messages to or from anyone else
    /// stay in flight, and the others' clocks stand still.
    /// </summary>
    public void Settle(IReadOnlyList<int> group, int ticks)
    {
        bool Inside(Message m) => group.Contains(m.From) && group.Contains(m.To);
        _quiet = true;
        try
        {
            DeliverWhile(Inside);
            for (var tick = 0; tick < ticks && _stopped is null; tick++)
            {
                foreach (var id in group)
                {
                    var replica = _replicas[id - 1];
                    Guard(id, replica.Tick);
                    TicksTaken++;
                    DeliverWhile(Inside);
                }
            }
        }
        finally
        {
            _quiet = false;
        }
    }

    /// <summary>
    /// Time passes for replica <paramref name="id"/> alone (nothing is delivered) until it sends a message that <paramref name="until"/>
    /// accepts, at most <paramref name="ticksMax"/> ticks; returns whether it did.
    /// </summary>
    public bool TickAlone(int id, Func<Message, bool> until, int ticksMax)
    {
        var replica = _replicas[id - 1];
        _awaited = m => m.From == id && until(m);
        _awaitedSent = false;
        try
        {
            for (var tick = 0; tick < ticksMax && !_awaitedSent && _stopped is null; tick++)
            {
                Guard(id, replica.Tick);
                TicksTaken++;
            }

            return _awaitedSent;
        }
        finally
        {
            _awaited = null;
        }
    }

    /// <summary>A client command, a crash, a disk loss or a snapshot at replica <paramref name="id"/>, as the step of that kind does it, without a line of its own in a printed schedule.</summary>
    public void Act(StepKind kind, int id)
    {
        if (kind is not (StepKind.Propose or StepKind.Crash or StepKind.DiskLoss or StepKind.Snapshot))
        {
            throw new ArgumentException($"Act takes a step that names a replica only, not {kind}.", nameof(kind));
        }

        var replica = _replicas[id - 1];
        Guard(id, () => ApplyTo(replica, new Step(kind, id)));
    }

    /// <summary>Appends a line to the printed schedule (nothing while searching).</summary>
    public void Note(string line) => _trace?.AppendLine(line);

    public string Describe(Step step) => step.Kind switch
    {
        StepKind.Deliver => $"deliver   {ScheduleText.Describe(_inFlight[step.Message])}",
        StepKind.Duplicate => $"duplicate {ScheduleText.Describe(_inFlight[step.Message])} (delivered, stays in flight)",
        StepKind.Drop => $"drop      {ScheduleText.Describe(_inFlight[step.Message])}",
        StepKind.Propose => $"propose   r{step.Replica} {ScheduleText.Batch([Command(_proposals + 1)])}",
        StepKind.Timeout => $"time      r{step.Replica} (ticks until it sends something new or changes role)",
        StepKind.Crash => $"crash     r{step.Replica} (restarts from its disk)",
        StepKind.DiskLoss => $"disk-loss r{step.Replica} (restarts rebuilding from peers)",
        StepKind.Snapshot => $"snapshot  r{step.Replica} at slot {_replicas[step.Replica - 1].Kv.AppliedSlot}",
        _ => step.ToString(),
    };

    public string Status() => string.Join("  ", _replicas.Select(r =>
        $"r{r.Id}:{r.Core.Role}{(r.Core.Rebuilding ? "(rebuilding)" : "")} b={r.Core.Ballot} p={r.Core.Promised} commit={r.Core.CommitIndex} applied={r.Kv.AppliedSlot}"));

    private void ApplyTo(ExploredReplica replica, Step step)
    {
        switch (step.Kind)
        {
            case StepKind.Deliver:
            case StepKind.Duplicate:
                var message = _inFlight[step.Message];
                if (step.Kind == StepKind.Deliver)
                {
                    RemoveInFlight(step.Message);
                }
                else
                {
                    _duplicates++;
                }

                replica.Core.Step(message);
                replica.Pump();
                break;
            case StepKind.Drop:
                RemoveInFlight(step.Message);
                _drops++;
                break;
            case StepKind.Propose:
                replica.Core.Propose(Command(++_proposals));
                replica.Pump();
                break;
            case StepKind.Timeout:
                TickUntilActs(replica);
                break;
            case StepKind.Crash:
                _crashes++;
                replica.Crash();
                break;
            case StepKind.DiskLoss:
                _diskLosses++;
                replica.LoseDisk();
                break;
            case StepKind.Snapshot:
                _snapshots++;
                replica.Snapshot();
                break;
            default:
                throw new InvalidOperationException($"Unknown step kind {step.Kind}.");
        }
    }

    /// <summary>
    /// Time passes for one replica until it puts a message in flight that is not there already, or changes role: ticks
    /// that change nothing but the replica's clock are not separate states worth a step each.
    /// </summary>
    private void TickUntilActs(ExploredReplica replica)
    {
        var role = replica.Core.Role;
        var acted = false;
        _actingSender = replica.Id;
        _acted = () => acted = true;
        try
        {
            for (var tick = 0; tick < _options.TimeoutTicksMax && !acted && replica.Core.Role == role; tick++)
            {
                replica.Tick();
                TicksTaken++;
            }
        }
        finally
        {
            _acted = null;
        }
    }

    private void Send(Message message)
    {
        if (_awaited is not null && _awaited(message))
        {
            _awaitedSent = true;
        }

        var hash = StateHasher.Of(message, 0);
        if (_inFlightHashes.Contains(hash))
        {
            return;
        }

        if (_acted is not null && message.From == _actingSender)
        {
            _acted();
        }

        _inFlight.Add(message);
        _inFlightHashes.Add(hash);
        if (!_quiet)
        {
            _trace?.AppendLine($"      sends {ScheduleText.Describe(message)}");
        }

        OverMessageBound |= _inFlight.Count > _options.InFlightMessagesMax;
    }

    private void RemoveInFlight(int index)
    {
        _inFlight.RemoveAt(index);
        _inFlightHashes.RemoveAt(index);
    }

    private void DeliverAt(int index)
    {
        var message = _inFlight[index];
        RemoveInFlight(index);
        MessagesDelivered++;
        if (!_quiet)
        {
            _trace?.AppendLine($"      delivers {ScheduleText.Describe(message)}");
        }

        var replica = _replicas[message.To - 1];
        Guard(message.To, () =>
        {
            replica.Core.Step(message);
            replica.Pump();
        });
    }

    /// <summary>Delivers, oldest first, every message in flight that <paramref name="inScope"/> accepts, and the answers it accepts, until none is left.</summary>
    private void DeliverWhile(Func<Message, bool> inScope)
    {
        for (var delivered = 0; _stopped is null; delivered++)
        {
            if (delivered > DeliveriesPerEpisodeMax)
            {
                throw new InvalidOperationException($"The explorer delivered {DeliveriesPerEpisodeMax} messages in one episode without the replicas going quiet.");
            }

            var index = _inFlight.FindIndex(m => inScope(m));
            if (index < 0)
            {
                return;
            }

            DeliverAt(index);
        }
    }

    /// <summary>Runs a step of one replica; a core that stops on a broken assertion is a finding, like an oracle's report.</summary>
    private void Guard(int id, Action action)
    {
        try
        {
            action();
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or KvFormatException)
        {
            _stopped ??= $"replica {id} stopped: {e.Message}";
        }
    }

    /// <summary>The simulator's rule: never more replicas rebuilding than leaves a quorum of voters.</summary>
    private bool MayLoseDisk(ExploredReplica replica)
    {
        var quorum = (_options.Replicas / 2) + 1;
        var rebuilding = _replicas.Count(r => r != replica && r.Disk.Rebuilding);
        return rebuilding + 1 <= _options.Replicas - quorum;
    }

    private string? StateMachinesDisagree()
    {
        for (var i = 0; i < _replicas.Length; i++)
        {
            for (var j = i + 1; j < _replicas.Length; j++)
            {
                var (a, b) = (_replicas[i].Kv, _replicas[j].Kv);
                if (a.AppliedSlot == b.AppliedSlot && a.AppliedSlot > 0 && a.ContentHash() != b.ContentHash())
                {
                    return $"replicas {i + 1} and {j + 1} both applied through slot {a.AppliedSlot} but hold different state machines (a chosen value must never change).";
                }
            }
        }

        return null;
    }

    private bool Has(ExplorerFaults fault) => (_options.Faults & fault) != 0;

    private static void AddIf(List<Step> steps, bool condition, Step step)
    {
        if (condition)
        {
            steps.Add(step);
        }
    }

    /// <summary>The n-th client command: a put of its own value by its own client, so every proposal is distinct.</summary>
    private static byte[] Command(int n) =>
        new KvCommand((ulong)n, 1, KvOperation.Put, Encoding.UTF8.GetBytes("k"), Encoding.UTF8.GetBytes($"v{n}")).Encode();
}
