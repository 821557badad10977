namespace Synod.Chaos;

/// <summary>
/// What one <see cref="LinkProxy"/> has done since it started. Every figure only grows; read them from any thread.
/// </summary>
public sealed class LinkCounters
{
    private long _connectionsAccepted;
    private long _connectionsRefused;
    private long _connectionsCut;
    private long _targetConnectFailures;
    private long _bytesToTarget;
    private long _bytesFromTarget;

    /// <summary>Connections taken from the listening socket, whatever became of them.</summary>
    public long ConnectionsAccepted => Interlocked.Read(ref _connectionsAccepted);

    /// <summary>Connections accepted and closed at once, unforwarded: the link was blocked, or too many were open.</summary>
    public long ConnectionsRefused => Interlocked.Read(ref _connectionsRefused);

    /// <summary>Open connections closed by <see cref="LinkProxy.Block"/>.</summary>
    public long ConnectionsCut => Interlocked.Read(ref _connectionsCut);

    /// <summary>Connections closed because the target could not be reached (it was down, or slow to answer).</summary>
    public long TargetConnectFailures => Interlocked.Read(ref _targetConnectFailures);

    /// <summary>Bytes written to the target on behalf of connecting clients.</summary>
    public long BytesToTarget => Interlocked.Read(ref _bytesToTarget);

    /// <summary>Bytes written back to connecting clients on behalf of the target.</summary>
    public long BytesFromTarget => Interlocked.Read(ref _bytesFromTarget);

    public override string ToString() =>
        $"{ConnectionsAccepted} accepted, {ConnectionsRefused} refused, {ConnectionsCut} cut, {TargetConnectFailures} target unreachable, " +
        $"{BytesToTarget} B to target, {BytesFromTarget} B back";

    internal void CountAccepted() => Interlocked.Increment(ref _connectionsAccepted);

    internal void CountRefused() => Interlocked.Increment(ref _connectionsRefused);

    internal void CountCut() => Interlocked.Increment(ref _connectionsCut);

    internal void CountTargetConnectFailure() => Interlocked.Increment(ref _targetConnectFailures);

    internal void AddBytesToTarget(int bytes) => Interlocked.Add(ref _bytesToTarget, bytes);

    internal void AddBytesFromTarget(int bytes) => Interlocked.Add(ref _bytesFromTarget, bytes);
}
