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
}
