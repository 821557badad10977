namespace Synod.Driver;

/// <summary>
/// A lease as its leader sees it: <paramref name="Found"/> false when it does not exist (never granted, revoked or
/// expired). <paramref name="RemainingSeconds"/> is what is left of its TTL by the leader's clock (rounded up).
/// </summary>
public sealed record LeaseOutcome(long Id, bool Found, long TtlSeconds, long RemainingSeconds, IReadOnlyList<byte[]> Keys);

/// <summary>The live leases (id and TTL in seconds) in id order; <paramref name="More"/> when a bound cut the list short.</summary>
public sealed record LeaseListOutcome(IReadOnlyList<(long Id, long TtlSeconds)> Leases, bool More);
