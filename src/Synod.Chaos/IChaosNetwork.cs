namespace Synod.Chaos;

/// <summary>
/// The network a chaos run's replicas talk over, and how it is cut: link proxies on loopback
/// (<see cref="PartitionNetwork"/>, the default) or one network namespace per replica with packet drops made by
/// nftables (<see cref="NetnsNetwork"/>, `synod chaos --net netns`).
/// </summary>
public interface IChaosNetwork : IAsyncDisposable
{
    /// <summary>The partition now, for logs ("fully connected", "1,2 | 3,4,5", "1,2 -> 3,4,5 blocked").</summary>
    string Description { get; }

    /// <summary>The endpoint replica <paramref name="id"/> listens on, and where clients reach it.</summary>
    string ListenEndpoint(int id);

    /// <summary>`synod serve --peers` for replica <paramref name="id"/> of the first configuration (null: every replica).</summary>
    string PeersFor(int id, IEnumerable<int>? members = null);

    /// <summary>`synod serve --peer-routes` for replica <paramref name="id"/>, or null when peers are dialled directly.</summary>
    string? RoutesFor(int id);

    /// <summary>What the replica's program runs under (for a namespace: `ip netns exec NAME`); empty for none.</summary>
    IReadOnlyList<string> ProgramPrefix(int id);

    /// <summary>Blocks what <paramref name="sideA"/> sends to <paramref name="sideB"/>, and back unless <paramref name="oneWay"/>. Cuts add up.</summary>
    void Cut(IEnumerable<int> sideA, IEnumerable<int> sideB, bool oneWay = false);

    /// <summary>
    /// Drops <paramref name="percent"/> % of the packets each of <paramref name="ids"/> sends and receives, at random, until
    /// <see cref="HealAll"/>. Only where packets can be dropped (<see cref="NetnsNetwork"/>).
    /// </summary>
    void Lose(IEnumerable<int> ids, int percent);

    /// <summary>
    /// Holds every packet to and from each of <paramref name="ids"/> for <paramref name="delay"/>, each way, until
    /// <see cref="HealAll"/>. Only on a shaped network (<see cref="NetnsNetwork.CreateShaped"/>).
    /// </summary>
    void Delay(IEnumerable<int> ids, TimeSpan delay);

    /// <summary>Removes every cut, loss and delay.</summary>
    void HealAll();
}
