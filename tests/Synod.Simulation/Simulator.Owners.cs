using Synod.Checker;
using Synod.Kv;

namespace Synod.Simulation;

/// <summary>
/// The upgrade from the build before lease owners, in runs with authentication: until a quarter of the operations have
/// ended, commands are written in that build's encoding (<see cref="KvCommand.FormatVersionAuth"/>) and snapshots in its
/// format (no owners), so that after the upgrade some replicas replay old grants while others restored them from old
/// snapshots. Throughout, the even-numbered clients now and then put a key of <see cref="TrespassKeyPrefix"/> (which
/// <see cref="LimitedUser"/> may write) onto a lease holder's lease (granted as root): allowed by the old build's rules,
/// refused by this one's for a lease granted after the upgrade. Replicas must converge whatever each judged; a rule that
/// depends on how a replica reached its state, not on the log alone, parts them
/// (<see cref="Synod.Core.ProtocolBugs.OwnerRulesIgnoreEncoding"/>).
/// </summary>
public sealed partial class Simulator
{
    /// <summary>The prefix of the keys LimitedUser attaches to other users' leases.</summary>
    public const string TrespassKeyPrefix = "Qt";

    /// <summary>True while the run is on the build before lease owners (see the class summary).</summary>
    public bool BeforeLeaseOwners { get; private set; }

    private int _trespasses;

    /// <summary>A command's bytes as the build the run is on would have written them.</summary>
    internal byte[] AsBuilt(byte[] command)
    {
        if (BeforeLeaseOwners && command[0] == KvCommand.FormatVersionOwners)
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
