using Synod.Checker;
using Synod.Kv;

namespace Synod.Simulation;

/// <summary>
/// The upgrade from the build that brought lease owners, in runs with authentication: until a quarter of the operations
/// have ended, commands with a user are written in that build's encoding (<see cref="KvCommand.FormatVersionAuth"/>) and
/// replicas started then run its rules, so that after the upgrade some replicas replay old commands with this build
/// while others restored their effect from that build's snapshots. Throughout, the even-numbered clients now and then put
/// a key of <see cref="TrespassKeyPrefix"/> (which <see cref="LimitedUser"/> may write) onto a lease holder's lease
/// (granted as root): refused by the owner rule once authentication is on. Replicas must converge; judging old commands
/// by other rules than the build that chose them parts them (<see cref="Synod.Core.ProtocolBugs.OldCommandsByOldestRules"/>,
/// which only replicas started after the upgrade run).
/// </summary>
public sealed partial class Simulator
{
    /// <summary>The prefix of the keys LimitedUser attaches to other users' leases.</summary>
    public const string TrespassKeyPrefix = "Qt";

    /// <summary>True while the run is on the build that brought lease owners (see the class summary).</summary>
    public bool BeforeLeaseOwners { get; private set; }

    private int _trespasses;

    /// <summary>A command's bytes as the build the run is on would have written them.</summary>
    internal byte[] AsBuilt(byte[] command)
    {
        if (BeforeLeaseOwners && command[0] == KvCommand.FormatVersionLeaseHandover)
        {
            // The same layout; only the rules it is applied by differ.
            command[0] = KvCommand.FormatVersionAuth;
        }

        return command;
    }

    /// <summary>In a run upgraded from the build before owners, an even-numbered client's put onto a live lease holder's lease.</summary>
    private bool BeginTrespass(SimClient client)
    {
        if (!Authenticating || client.Index % 2 == 1 || Faults.OwnerUpgrades + (BeforeLeaseOwners ? 1 : 0) == 0 || _leases.Count == 0)
        {
            return false;
        }

        var leases = _leases.Keys.Order().ToList();
        var lease = leases[Random.Next(leases.Count)];
        Begin(client, new ClientRequest(client.Index, 0, 0, 0, OperationKind.Put, $"{TrespassKeyPrefix}{++_trespasses}", $"t{client.Index}-{_operationsStarted}") { Lease = lease });
        return true;
    }

    /// <summary>Counts what became of a trespass; whether it was right is for the replicas' convergence to show.</summary>
    private void OnTrespassAnswered(ClientReply reply)
    {
        if (reply.Denied)
        {
            Faults.TrespassesRefused++;
        }
        else if (reply.Ok)
        {
            Faults.TrespassesAttached++;
        }
    }
}
