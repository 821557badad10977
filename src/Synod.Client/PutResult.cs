namespace Synod.Client;

/// <summary>An acknowledged Put.</summary>
/// <param name="Slot">The log slot the write was chosen in.</param>
/// <param name="ServedBy">The id of the replica that answered.</param>
/// <param name="Duplicate">True when an earlier attempt of this same write had already been applied.</param>
/// <param name="ClientId">The client id the write was sent under, for tracing and history checks.</param>
/// <param name="Sequence">The write's sequence number under <paramref name="ClientId"/>.</param>
/// <param name="Endpoint">The replica ("host:port") that answered.</param>
public sealed record PutResult(ulong Slot, uint ServedBy, bool Duplicate, ulong ClientId, ulong Sequence, string Endpoint);
