using System.Text;

namespace Synod.Client;

/// <summary>
/// One lease kept alive in the background (ZooKeeper's session, etcd's concurrency.Session): keys written through it
/// with <c>ephemeral: true</c> vanish when it ends. It ends when disposed (the lease is revoked), when the leader says
/// the lease is gone, or when no keep-alive was acknowledged for a whole TTL by this process's clock, since the lease
/// may then have expired; <see cref="Lost"/> is cancelled then. A lost session stays lost: open a new one.
/// </summary>
/// <remarks>
/// A lease only says that the cluster kept it alive; a process paused past the TTL may still believe it holds what the
/// lease guarded. A client that must act alone fences its writes with the token a lock gives (docs/api.md, "Leases").
/// </remarks>
public sealed class SynodSession : IAsyncDisposable
{
    private readonly SynodClient _client;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _lost = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _keepAlive;
    private int _disposed;
    private long _suspendedUntil;

    /// <param name="grantSentAt">The timestamp (of <paramref name="time"/>) taken before the grant was sent: the lease's clock may have started then.</param>
    internal SynodSession(SynodClient client, SynodLease lease, TimeProvider time, long grantSentAt)
    {
        _client = client;
        _time = time;
        Lease = lease;
        _keepAlive = Task.Run(() => KeepAliveLoopAsync(grantSentAt));
    }

    /// <summary>The session's lease.</summary>
    public SynodLease Lease { get; }

    public long LeaseId => Lease.Id;

    /// <summary>Cancelled when the session is lost (see the class summary).</summary>
    public CancellationToken Lost => _lost.Token;

    public bool IsLost => _lost.IsCancellationRequested;

    /// <summary>Why the session was lost; null while it is not.</summary>
    public string? LostReason { get; private set; }

    /// <summary>The client the session belongs to.</summary>
    public SynodClient Client => _client;

    /// <summary>Writes a key; with <paramref name="ephemeral"/> it is attached to the session's lease and vanishes with it.</summary>
    /// <exception cref="SynodLeaseNotFoundException">The session's lease has ended; nothing was written.</exception>
    public Task<PutResult> PutAsync(string key, string value, bool ephemeral = true, SynodCallOptions? options = null, CancellationToken cancellationToken = default) =>
        _client.PutAsync(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(value), ephemeral ? Lease.Id : 0, null, options, cancellationToken);

    /// <summary>Writes a key as bytes; see the string overload.</summary>
    public Task<PutResult> PutAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, bool ephemeral = true, SynodCallOptions? options = null, CancellationToken cancellationToken = default) =>
        _client.PutAsync(key, value, ephemeral ? Lease.Id : 0, null, options, cancellationToken);

    /// <summary>
    /// Every third of the TTL, one keep-alive, given what is left of the TTL since the last acknowledged one was sent;
    /// the session is lost the moment a whole TTL has passed since then without another (not a third of a TTL later).
    /// </summary>
    private async Task KeepAliveLoopAsync(long lastAcknowledgedSend)
    {
        var ttl = TimeSpan.FromSeconds(Lease.TtlSeconds);
        while (!_stop.IsCancellationRequested)
        {
            var left = ttl - _time.GetElapsedTime(lastAcknowledgedSend);
            try
            {
                await Task.Delay(left < ttl / 3 ? (left > TimeSpan.Zero ? left : TimeSpan.Zero) : ttl / 3, _time, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            var sent = _time.GetTimestamp();
            left = ttl - _time.GetElapsedTime(lastAcknowledgedSend);
            if (left <= TimeSpan.Zero)
            {
                Lose($"no keep-alive of lease {Lease.Id} was acknowledged for its whole TTL ({Lease.TtlSeconds} s); it may have expired");
                return;
            }

            if (sent < Interlocked.Read(ref _suspendedUntil))
            {
                continue;
            }

            try
            {
                var remaining = await _client.KeepAliveOnceAsync(Lease.Id, new SynodCallOptions { OperationTimeout = left }, _stop.Token);
                if (remaining < 0)
                {
                    Lose($"lease {Lease.Id} no longer exists (it expired or was revoked)");
                    return;
                }

                lastAcknowledgedSend = sent;
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (SynodException)
            {
                // Unreachable or no leader for now: keep trying until the TTL since the last acknowledged send is spent.
            }
        }
    }

    /// <summary>
    /// Sends no keep-alive for <paramref name="pause"/>, as if the process were stopped: for fault tests (the chaos
    /// lock workload pauses holders past their TTL). The session notices its loss as it would after a real pause.
    /// </summary>
    internal void SuspendKeepAlive(TimeSpan pause) =>
        Interlocked.Exchange(ref _suspendedUntil, _time.GetTimestamp() + (long)(pause.TotalSeconds * _time.TimestampFrequency));

    private void Lose(string reason)
    {
        LostReason ??= reason;
        _lost.Cancel();
    }

    /// <summary>Stops keeping the lease alive and revokes it (its ephemeral keys vanish); a lease already gone is fine.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync();
        await _keepAlive;
        if (!IsLost)
        {
            try
            {
                await _client.RevokeLeaseAsync(Lease.Id);
            }
            catch (SynodException)
            {
                // Gone already, or unreachable: it expires by itself within its TTL.
            }

            Lose("the session was closed");
        }

        _stop.Dispose();
    }
}
