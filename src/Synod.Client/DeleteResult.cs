namespace Synod.Client;

/// <summary>An acknowledged Delete.</summary>
/// <param name="Existed">False when the key was already absent; the delete still counts as applied.</param>
/// <param name="Slot">The log slot the delete was chosen in.</param>
/// <param name="ServedBy">The id of the replica that answered.</param>
/// <param name="ClientId">The client id the delete was sent under.</param>
/// <param name="Sequence">The delete's sequence number under <paramref name="ClientId"/>.</param>
/// <param name="Endpoint">The replica ("host:port") that answered.</param>
public sealed record DeleteResult(bool Existed, ulong Slot, uint ServedBy, ulong ClientId, ulong Sequence, string Endpoint);
