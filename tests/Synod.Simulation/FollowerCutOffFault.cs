using Synod.Core.Messages;

namespace Synod.Simulation;

/// <summary>
/// What the targeted faults about a follower's catch-up share (<see cref="SnapshotOvertakenFault"/>,
/// <see cref="DamagedSourceFault"/>): one follower cut off from everyone, what is in flight too, while the fault's
/// step says so, and the other replicas made to snapshot at once so that they can serve it only with a snapshot.
/// </summary>
internal abstract class FollowerCutOffFault(Simulator sim, SimReplicaHost follower) : ITargetedFault
{
    protected Simulator Sim { get; } = sim;

    protected SimReplicaHost Follower { get; } = follower;

    /// <summary>The replicas up other than the follower.</summary>
    protected IEnumerable<SimReplicaHost> Others => Sim.Hosts.Where(h => h != Follower && h.Up);

    /// <summary>Whether the fault's step keeps the follower cut off now.</summary>
    protected abstract bool CutOff { get; }

    public MessageRoute Route(Message message) => Cut(message) ? MessageRoute.Drop : MessageRoute.Default;

    public bool Admits(Message message) => !Cut(message);

    /// <summary>Every other replica takes a snapshot at its applied slot now (each counted).</summary>
    protected void SnapshotOthers()
    {
        foreach (var host in Others)
        {
            if (host.CompactNow())
            {
                Sim.Faults.TargetedSnapshots++;
            }
        }
    }

    private bool Cut(Message message) => CutOff && (message.From == Follower.Id || message.To == Follower.Id);
}
