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
            }
        }
        finally
        {
            _acted = null;
        }
    }

    private void Send(Message message)
    {
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
        _trace?.AppendLine($"      sends {ScheduleText.Describe(message)}");
        OverMessageBound |= _inFlight.Count > _options.InFlightMessagesMax;
    }

    private void RemoveInFlight(int index)
    {
        _inFlight.RemoveAt(index);
        _inFlightHashes.RemoveAt(index);
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
