namespace Synod.Client;

/// <summary>An acknowledged Delete.</summary>
/// <param name="Existed">False when the key was already absent (or the compare failed); the delete still counts as applied.</param>
/// <param name="Slot">The log slot the delete was chosen in.</param>
/// <param name="ServedBy">The id of the replica that answered.</param>
/// <param name="ClientId">The client id the delete was sent under.</param>
/// <param name="Sequence">The delete's sequence number under <paramref name="ClientId"/>.</param>
/// <param name="Endpoint">The replica ("host:port") that answered.</param>
/// <param name="Revision">The revision of this delete; if it changed nothing, the revision it was applied at.</param>
/// <param name="CompareFailed">True when the delete's <see cref="SynodCompare"/> did not hold: nothing was deleted.</param>
/// <param name="ModRevision">After a failed compare, the key's mod revision (0: absent).</param>
/// <param name="Version">After a failed compare, the key's version (0: absent).</param>
public sealed record DeleteResult(
    bool Existed, ulong Slot, uint ServedBy, ulong ClientId, ulong Sequence, string Endpoint,
    long Revision = 0, bool CompareFailed = false, long ModRevision = 0, long Version = 0);
