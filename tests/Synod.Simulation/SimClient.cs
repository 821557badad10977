using Synod.Checker;

namespace Synod.Simulation;

/// <summary>A simulated client: one operation at a time, each retried with the same client id and sequence.</summary>
public sealed class SimClient(int index)
{
    public int Index { get; } = index;

    /// <summary>Client ids in use at once are spread this far apart, so a client's later ids never collide with others'.</summary>
    private const ulong IdGenerationStride = 1_000_000;

    private int _generation;

    public ulong ClientId => (ulong)Index + (IdGenerationStride * (ulong)_generation);

    /// <summary>Whether any write under the current client id was acknowledged, so the replicas hold its session.</summary>
    public bool HasAcknowledgedWrite { get; set; }

    /// <summary>
    /// Gives up the current client id: until one of its writes is acknowledged, the replicas may hold no session for
    /// it, and its next sequence would be refused as SessionExpired. A fresh id starts again at sequence 1.
    /// </summary>
    public void AbandonClientId()
    {
        _generation++;
        Sequence = 0;
        HasAcknowledgedWrite = false;
    }

    public ulong Sequence { get; set; }

    public long Attempt { get; set; }

    public int AttemptsOfOperation { get; set; }

    public int LastReplica { get; set; }

    public ClientRequest? Current { get; set; }

    public double InvokeMs { get; set; }

    public bool Done { get; set; }

    public OperationKind Kind => Current?.Kind ?? OperationKind.Get;
}
