using Synod.Core.Messages;

namespace Synod.Simulation;

/// <summary>
/// The simulated network. Every message gets a random delay (so messages reorder), and under faults may be
/// lost or duplicated; a partition drops messages between its sides, possibly in one direction only.
/// Client links share delay and loss but not partitions.
/// </summary>
public sealed partial class Simulator
{
    private readonly bool[,] _blocked;

    /// <summary>The highest ballot round any peer message has carried so far (no replica has seen a higher one).</summary>
    internal long HighestRoundSent { get; private set; }

    public void SendPeerMessage(Message message)
    {
        HighestRoundSent = Math.Max(HighestRoundSent, MessageRounds.Highest(message));
        if (_targeted is { } fault && !_healed)
        {
            switch (fault.Route(message))
            {
                case MessageRoute.Drop:
                    Faults.MessagesDropped++;
                    return;
                case MessageRoute.Hold:
                    Faults.MessagesHeldLong++;
                    return;
                case MessageRoute.Deliver:
                    DeliverPeerMessage(message, 1 + Random.Next(Options.NetworkDelayMsMax));
                    return;
            }
        }

        var held = false;
        if (_blocked[message.From, message.To])
        {
            if (!Random.Chance(Options.HeldAcrossPartitionProbability))
            {
                Faults.MessagesDropped++;
                return;
            }

            held = true;
        }

        var copies = held ? 1 : CopiesToDeliver();
        for (var i = 0; i < copies; i++)
        {
            DeliverPeerMessage(message, PeerDelayMs(held));
        }
    }

    /// <summary>Hands <paramref name="message"/> to its target after <paramref name="delayMs"/>, if the target is up then.</summary>
    public void DeliverPeerMessage(Message message, long delayMs)
    {
        var target = Host(message.To);
        Schedule(NowMs + delayMs, Tracing ? message.ToString() : null, () =>
        {
            if (_targeted is { } fault && !_healed && !fault.Admits(message))
            {
                Faults.MessagesDropped++;
                return;
            }

            if (target.Up)
            {
                Faults.MessagesDelivered++;
                if (message is InstallSnapshot)
                {
                    Faults.SnapshotChunksDelivered++;
                }

                if (message is InstallSnapshot { Offset: 0 })
                {
                    Faults.SnapshotsSentToLaggards++;
                }

                target.OnMessage(message);
            }
        });
    }

    public void SendClientRequest(int replica, ClientRequest request)
    {
        var copies = CopiesToDeliver();
        if (copies > 1)
        {
            _clients[request.Client - 1].DuplicatedAttempts.Add(request.Attempt);
        }

        for (var i = 0; i < copies; i++)
        {
            var target = Host(replica);
            Schedule(NowMs + 1 + Random.Next(Options.NetworkDelayMsMax), Tracing ? $"to r{replica} {request}" : null, () =>
            {
                if (target.Up)
                {
                    target.OnClientRequest(request);
                }
            });
        }
    }

    public void SendClientReply(int replica, ClientReply reply)
    {
        if (CopiesToDeliver() == 0)
        {
            return;
        }

        Schedule(NowMs + 1 + Random.Next(Options.NetworkDelayMsMax), Tracing ? $"from r{replica} {reply}" : null, () => OnClientReply(reply));
    }

    /// <summary>
    /// Milliseconds until a peer message arrives: the usual short delay, or under faults now and then a long hold (and
    /// always one for a message held across a partition).
    /// </summary>
    private int PeerDelayMs(bool held)
    {
        if (held || (!_healed && Random.Chance(Options.LongDelayProbability)))
        {
            Faults.MessagesHeldLong++;
            return 1 + Options.NetworkDelayMsMax + Random.Next(Options.LongDelayMsMax);
        }

        return 1 + Random.Next(Options.NetworkDelayMsMax);
    }

    /// <summary>0 (lost), 1, or 2 (duplicated) — no loss or duplication once faults are healed.</summary>
    private int CopiesToDeliver()
    {
        if (_healed)
        {
            return 1;
        }

        if (Random.Chance(Options.MessageLossProbability))
        {
            Faults.MessagesDropped++;
            return 0;
        }

        if (Random.Chance(Options.MessageDuplicateProbability))
        {
            Faults.MessagesDuplicated++;
            return 2;
        }

        return 1;
    }
}
