using Synod.Client;

namespace Synod.Bench;

/// <summary>Synod (or its echo server) through <see cref="SynodClient"/>: the library users call, with its failover and exactly-once writes.</summary>
public sealed class SynodBenchTarget : IBenchTarget
{
    private readonly SynodClient[] _clients;

    public SynodBenchTarget(BenchSettings settings)
    {
        _clients = [.. Enumerable.Range(0, settings.Conns).Select(_ => new SynodClient(new SynodClientOptions
        {
            Endpoints = settings.Endpoints,
            Tls = settings.Tls,
            OperationTimeout = settings.OperationTimeout,
            AttemptTimeout = settings.OperationTimeout < SynodClientOptions.AttemptTimeoutDefault ? settings.OperationTimeout : SynodClientOptions.AttemptTimeoutDefault,
        }))];
    }

    public int Conns => _clients.Length;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, Task<SynodSession>> _sessions = new();

    public async Task LockCycleAsync(int worker, string name, CancellationToken cancellation)
    {
        var session = await _sessions.GetOrAdd(worker, w => _clients[w % _clients.Length].CreateSessionAsync(LockTtlSeconds, cancellation));
        var token = await new Synod.Client.Coordination.SynodMutex(session, name).LockAsync(cancellation);
        await token.UnlockAsync(cancellation);
    }

    /// <summary>The TTL of each lock loop's session, in seconds.</summary>
    private const long LockTtlSeconds = 10;

    public async Task<long> GrantLeaseAsync(int conn, long ttlSeconds, CancellationToken cancellation) =>
        (await _clients[conn].GrantLeaseAsync(ttlSeconds, cancellationToken: cancellation)).Id;

    public Task KeepAliveAsync(int conn, long lease, CancellationToken cancellation) =>
        _clients[conn].KeepAliveOnceAsync(lease, cancellationToken: cancellation);

    public async Task<IReadOnlyCollection<long>> LiveLeasesAsync(CancellationToken cancellation) =>
        [.. (await _clients[0].LeasesAsync(cancellationToken: cancellation)).Leases.Select(l => l.Id)];

    public Task PutAsync(int conn, byte[] key, byte[] value, CancellationToken cancellation) =>
        _clients[conn].PutAsync(key, value, cancellationToken: cancellation);

    public async Task GetAsync(int conn, byte[] key, bool stale, CancellationToken cancellation)
    {
        try
        {
            await _clients[conn].GetAsync(key, stale, cancellationToken: cancellation);
        }
        catch (SynodNotFoundException)
        {
            // An answer: the key has no value.
        }
    }

    public async Task<long> CasAsync(int conn, byte[] key, byte[] value, long expectedModRevision, CancellationToken cancellation)
    {
        var result = await _clients[conn].PutAsync(key, value, SynodCompare.ModRevisionIs(expectedModRevision), cancellationToken: cancellation);
        return result.ModRevision;
    }

    public Task RangeAsync(int conn, byte[] from, int limit, CancellationToken cancellation) =>
        _clients[conn].RangeAsync(new SynodRange(from, Array.Empty<byte>(), limit), cancellationToken: cancellation);

    public async Task<long> PutRevisionAsync(int conn, byte[] key, byte[] value, CancellationToken cancellation) =>
        (await _clients[conn].PutAsync(key, value, cancellationToken: cancellation)).Revision;

    public async Task WatchAsync(int conn, byte[] prefix, Action created, Action<long> changed, CancellationToken cancellation)
    {
        var announced = 0;
        var options = new SynodWatchOptions { Created = _ => { if (Interlocked.Exchange(ref announced, 1) == 0) created(); } };
        try
        {
            await foreach (var change in _clients[conn].WatchAsync(SynodRange.Prefix(prefix), options, cancellation))
            {
                changed(change.Revision);
            }
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var session in _sessions.Values.Where(s => s.IsCompletedSuccessfully))
        {
            await session.Result.DisposeAsync();
        }

        foreach (var client in _clients)
        {
            await client.DisposeAsync();
        }
    }
}
