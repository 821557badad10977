using Synod.Core.Messages;

namespace Synod.Core;

/// <summary>
/// Linearizable reads by read index, batched. The leader gives a read the highest slot it has proposed so far
/// (which covers every value it recovered in phase 1 and every write acknowledged before the read arrived),
/// then confirms with one heartbeat round, started after the read arrived, that a quorum has promised no higher
/// ballot. One round confirms every read that arrived before it. Any replica may then serve the read locally
/// once it has applied up to that slot.
/// </summary>
public sealed partial class Replica
{
    private readonly List<PendingRead> _pendingReads = [];
    private readonly List<long> _readsToForward = [];
    private readonly HashSet<int> _readRoundAcks = [];
    private long _readRound;
    private long _readRoundAwaiting;

    private long CurrentReadRound => _readRoundAwaiting != 0 ? _readRoundAwaiting : _readRound;

    /// <summary>A linearizable read. The answer is a <see cref="ReadState"/> in a later Ready, or a dropped read.</summary>
    public void RequestRead(long readId)
    {
        if (_role == ReplicaRole.Leader)
        {
            AddPendingRead(Id, readId);
        }
        else if (_leaderId is not null)
        {
            _readsToForward.Add(readId);
        }
        else
        {
            _ready.DroppedReads.Add(readId);
        }
    }

    private void OnReadIndexRequest(ReadIndexRequest request)
    {
        if (_role == ReplicaRole.Leader)
        {
            AddPendingRead(request.From, request.ReadId);
        }
    }

    private void OnReadIndexReply(ReadIndexReply reply) => _ready.ReadStates.Add(new ReadState(reply.ReadId, reply.Index));

    private void AddPendingRead(int requester, long readId)
    {
        if (_pendingReads.Count >= _options.PendingReadsMax)
        {
            if (requester == Id)
            {
                _ready.DroppedReads.Add(readId);
            }

            return;
        }

        _pendingReads.Add(new PendingRead(requester, readId, Math.Max(_commitIndex, Math.Max(_nextSlot - 1, _recoveryEnd))));
    }

    private void FlushReads()
    {
        if (_readsToForward.Count > 0)
        {
            if (_leaderId is int leader && leader != Id)
            {
                foreach (var readId in _readsToForward)
                {
                    Send(new ReadIndexRequest(Id, leader, readId));
                }
            }
            else
            {
                _ready.DroppedReads.AddRange(_readsToForward);
            }

            _readsToForward.Clear();
        }

        if (_role == ReplicaRole.Leader)
        {
            StartReadRoundIfNeeded();
            ServeConfirmedReads();
        }
    }

    private void StartReadRoundIfNeeded()
    {
        if (_readRoundAwaiting != 0 || !_pendingReads.Exists(r => r.Round == 0) || !EstablishedForReads)
        {
            return;
        }

        _readRound++;
        ReadRoundsStarted++;
        _readRoundAwaiting = _readRound;
        var index = Math.Max(_commitIndex, Math.Max(_nextSlot - 1, _recoveryEnd));
        foreach (var read in _pendingReads)
        {
            if (read.Round == 0)
            {
                // I24: at the index of a leader whose phase 1 has covered every configuration it knows (a write chosen
                // before the read arrived, in a configuration learned since, is below it).
                read.Round = _readRound;
                read.Index = Math.Max(read.Index, index);
            }
        }

        _readRoundAcks.Clear();
        _readRoundAcks.Add(Id);
        if (IsQuorumFrom(_commitIndex + 1, _readRoundAcks))
        {
            ConfirmReadRound();
            return;
        }

        SendHeartbeat();
    }

    private void OnReadRoundAck(int from, long round)
    {
        if (_readRoundAwaiting == 0 || round != _readRoundAwaiting)
        {
            return;
        }

        _readRoundAcks.Add(from);
        if (IsQuorumFrom(_commitIndex + 1, _readRoundAcks))
        {
            ConfirmReadRound();
        }
    }

    private void ConfirmReadRound()
    {
        foreach (var read in _pendingReads)
        {
            if (read.Round != 0 && read.Round <= _readRoundAwaiting)
            {
                read.Confirmed = true;
            }
        }

        _readRoundAwaiting = 0;
    }

    private void ServeConfirmedReads()
    {
        _pendingReads.RemoveAll(read =>
        {
            if (!read.Confirmed || read.Index > _commitIndex)
            {
                return false;
            }

            if (read.Requester == Id)
            {
                _ready.ReadStates.Add(new ReadState(read.ReadId, read.Index));
            }
            else
            {
                Send(new ReadIndexReply(Id, read.Requester, read.ReadId, read.Index));
            }

            return true;
        });
    }

    private void DropPendingReads()
    {
        foreach (var read in _pendingReads)
        {
            if (read.Requester == Id)
            {
                _ready.DroppedReads.Add(read.ReadId);
            }
        }

        _pendingReads.Clear();
        _readRoundAwaiting = 0;
    }
}
