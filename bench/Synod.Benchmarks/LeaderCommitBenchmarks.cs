using BenchmarkDotNet.Attributes;
using Synod.Core;
using Synod.Core.Messages;

namespace Synod.Benchmarks;

/// <summary>
/// The core's whole share of a group of writes on a 5-replica leader past phase 1: <see cref="ProposalCount"/> client
/// commands proposed, the Ready that batches them into slots (up to BatchCommandsMax = 128 commands each) and sends the
/// Accepts, the report that the Ready is durable (which counts the leader's own acceptance), the four followers'
/// Accepted replies (the first two make a quorum; the other two arrive late, as they do), and the Ready that commits
/// and hands the slots out to apply. The WAL, the codec and the state machine are measured apart; this is the
/// protocol's CPU cost, paid on the one thread that owns the replica. Per command: divide by ProposalCount.
/// </summary>
[MemoryDiagnoser]
public class LeaderCommitBenchmarks
{
    /// <summary>ServerOptions.SnapshotEverySlots: the server compacts the core's log this often, and so does the benchmark.</summary>
    private const int SnapshotEverySlots = 10_000;

    private readonly List<Accepted> _replies = [];
    private readonly byte[] _snapshot = new byte[64];
    private Replica _leader = null!;
    private byte[][] _commands = [];
    private long _lastSnapshotSlot;

    [Params(1, 64, 256)]
    public int ProposalCount { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _leader = LeaderElection.Run(replicaCount: 5);

        // The core never looks inside a command, so the same bytes may be proposed again and again.
        _commands = SampleCommands.Batch(ProposalCount);
        var commitBefore = _leader.CommitIndex;
        var committed = ProposeAndCommit();
        var slots = (ProposalCount + 127) / 128;
        if (committed != ProposalCount || _leader.CommitIndex != commitBefore + slots || _leader.Role != ReplicaRole.Leader)
        {
            throw new InvalidOperationException($"A group of {ProposalCount} commands did not commit in {slots} slots; the benchmark would measure the wrong path.");
        }
    }

    [Benchmark]
    public int ProposeAndCommit()
    {
        foreach (var command in _commands)
        {
            _leader.Propose(command);
        }

        // The shell would append and sync the AcceptOps and send the Accepts here.
        var accepts = _leader.TakeReady();
        _leader.Persisted(accepts.Number);

        // The followers' replies, built as PeerMessageCodec.Decode builds them on arrival.
        _replies.Clear();
        foreach (var message in accepts.Messages)
        {
            if (message is Accept accept)
            {
                _replies.Add(new Accepted(accept.To, accept.From, accept.Ballot, accept.Slot));
            }
        }

        foreach (var reply in _replies)
        {
            _leader.Step(reply);
        }

        var commit = _leader.TakeReady();
        _leader.Persisted(commit.Number);
        CompactWhenDue();
        var committed = 0;
        foreach (var entry in commit.Committed)
        {
            committed += entry.Commands.Length;
        }

        return committed;
    }

    /// <summary>As the server does after a snapshot; without it the core's log would grow by every slot of the run.</summary>
    private void CompactWhenDue()
    {
        if (_leader.AppliedIndex - _lastSnapshotSlot >= SnapshotEverySlots)
        {
            _lastSnapshotSlot = _leader.AppliedIndex;
            _leader.Compact(_lastSnapshotSlot, _snapshot);
        }
    }
}
