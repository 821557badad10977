namespace Synod.Bench;

/// <summary>
/// The calls the generator makes, one implementation per system. A call returns when the system acknowledged it
/// and throws on any failure; the generator times and counts them the same way for every system.
/// </summary>
public interface IBenchTarget : IAsyncDisposable
{
    /// <summary>How many independent client instances (each with its own connections) the target holds.</summary>
    int Conns { get; }

    /// <summary>Writes through client instance <paramref name="conn"/>.</summary>
    Task PutAsync(int conn, byte[] key, byte[] value, CancellationToken cancellation);

    /// <summary>Reads through client instance <paramref name="conn"/>; a missing key is an answer, not a failure.</summary>
    Task GetAsync(int conn, byte[] key, bool stale, CancellationToken cancellation);

    /// <summary>
    /// One compare-and-swap through client instance <paramref name="conn"/>: writes the key only if its mod revision is
    /// still <paramref name="expectedModRevision"/>, in one request; returns the key's mod revision after it (the new
    /// one when it swapped, the current one when the compare failed), for the worker's next attempt.
    /// </summary>
    Task<long> CasAsync(int conn, byte[] key, byte[] value, long expectedModRevision, CancellationToken cancellation);

    /// <summary>A linearizable read of the <paramref name="limit"/> keys from <paramref name="from"/> on, in one request.</summary>
    Task RangeAsync(int conn, byte[] from, int limit, CancellationToken cancellation);

    /// <summary>A put that returns the revision it was written at.</summary>
    Task<long> PutRevisionAsync(int conn, byte[] key, byte[] value, CancellationToken cancellation);

    /// <summary>
    /// Watches every key that begins with <paramref name="prefix"/> from the next change on, on its own stream through
    /// client instance <paramref name="conn"/>, until cancelled: <paramref name="created"/> once the watch is in place,
    /// then <paramref name="changed"/> with each change's revision as it arrives.
    /// </summary>
    Task WatchAsync(int conn, byte[] prefix, Action created, Action<long> changed, CancellationToken cancellation);

    /// <summary>
    /// One hand-off of the lock <paramref name="name"/> by loop <paramref name="worker"/>: acquire (waiting in line),
    /// then release. Each loop holds its own session or lease for the whole run.
    /// </summary>
    Task LockCycleAsync(int worker, string name, CancellationToken cancellation);

    /// <summary>Grants a lease of <paramref name="ttlSeconds"/> and returns its id.</summary>
    Task<long> GrantLeaseAsync(int conn, long ttlSeconds, CancellationToken cancellation);

    /// <summary>One keep-alive of <paramref name="lease"/>, answered by the leader.</summary>
    Task KeepAliveAsync(int conn, long lease, CancellationToken cancellation);

    /// <summary>The ids of the leases live now.</summary>
    Task<IReadOnlyCollection<long>> LiveLeasesAsync(CancellationToken cancellation);
}
