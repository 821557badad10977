using Synod.Checker;

namespace Synod.Simulation;

/// <summary>
/// A simulated client: one operation at a time, each retried with the same client id and sequence. Its client id is
/// assigned by the replicas (a Register through the log) before its first write, and again after its session expired
/// or the client "restarted" and forgot it.
/// </summary>
public sealed class SimClient(int index)
{
    public int Index { get; } = index;

    /// <summary>The client id the replicas assigned; 0 until a registration is answered.</summary>
    public ulong ClientId { get; set; }

    public ulong Sequence { get; set; }

    /// <summary>The write that waits for <see cref="Current"/>, a registration, to be answered.</summary>
    public ClientRequest? PendingWrite { get; set; }

    public long Attempt { get; set; }

    /// <summary>Attempts of the current operation the network delivered more than once (a copy refused says nothing of the other).</summary>
    public HashSet<long> DuplicatedAttempts { get; } = [];

    public int AttemptsOfOperation { get; set; }

    public int LastReplica { get; set; }

    public ClientRequest? Current { get; set; }

    public double InvokeMs { get; set; }

    public bool Done { get; set; }

    public OperationKind Kind => Current?.Kind ?? OperationKind.Get;

    /// <summary>Forgets the client id, as a restarted client process or one whose session expired does: the next write registers a new one.</summary>
    public void ForgetClientId()
    {
        ClientId = 0;
        Sequence = 0;
    }
}
