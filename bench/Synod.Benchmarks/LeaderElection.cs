using Synod.Core;
using Synod.Core.Messages;

namespace Synod.Benchmarks;

/// <summary>
/// Elects a leader the way a real cluster does, among real cores: pre-vote, phase 1 and the first heartbeats, with
/// instant persistence and a perfect network, as the simulator's happy path. What comes back is a leader past phase 1
/// whose followers all know it, ready for phase 2 alone.
/// </summary>
internal static class LeaderElection
{
    private const int TicksMax = 1_000;
    private const int DeliveriesMax = 100_000;

    public static Replica Run(int replicaCount)
    {
        int[] members = [.. Enumerable.Range(1, replicaCount)];
        var replicas = members.ToDictionary(
            id => id,
            id => new Replica(new ReplicaOptions { Id = id, Members = members }, new SeededRandom((ulong)id)));
        var network = new Queue<Message>();
        for (var tick = 0; tick < TicksMax; tick++)
        {
            foreach (var replica in replicas.Values)
            {
                replica.Tick();
                Pump(replica, network);
            }

            for (var delivered = 0; network.TryDequeue(out var message); delivered++)
            {
                if (delivered == DeliveriesMax)
                {
                    throw new InvalidOperationException("The election did not settle: messages kept causing messages.");
                }

                replicas[message.To].Step(message);
                Pump(replicas[message.To], network);
            }

            var leader = replicas.Values.SingleOrDefault(replica => replica.Role == ReplicaRole.Leader);
            if (leader is not null && replicas.Values.All(replica => replica.LeaderId == leader.Id))
            {
                return leader;
            }
        }

        throw new InvalidOperationException($"No leader was elected among {replicaCount} replicas in {TicksMax} ticks.");
    }

    /// <summary>The shell's part with a disk that is durable at once: send, report persisted, until nothing is left.</summary>
    private static void Pump(Replica replica, Queue<Message> network)
    {
        while (true)
        {
            var ready = replica.TakeReady();
            if (ready.IsEmpty && replica.SelfMessagesWaiting == 0)
            {
                return;
            }

            foreach (var message in ready.Messages)
            {
                network.Enqueue(message);
            }

            replica.Persisted(ready.Number);
        }
    }
}
