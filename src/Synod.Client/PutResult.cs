namespace Synod.Client;

/// <summary>An acknowledged Put.</summary>
/// <param name="Slot">The log slot the write was chosen in.</param>
/// <param name="ServedBy">The id of the replica that answered.</param>
/// <param name="Duplicate">True when an earlier attempt of this same write had already been applied.</param>
/// <param name="ClientId">The client id the write was sent under, for tracing and history checks.</param>
/// <param name="Sequence">The write's sequence number under <paramref name="ClientId"/>.</param>
/// <param name="Endpoint">The replica ("host:port") that answered.</param>
/// <param name="Revision">The revision of this write (of its first application, for a duplicate); after a failed compare, the revision it was evaluated at.</param>
/// <param name="CompareFailed">True when the put's <see cref="SynodCompare"/> did not hold: nothing was written.</param>
/// <param name="CreateRevision">The key's create revision after this write, or as it stands after a failed compare (0: absent; also 0 for a duplicate).</param>
/// <param name="ModRevision">The key's mod revision, likewise.</param>
/// <param name="Version">The key's version, likewise.</param>
public sealed record PutResult(
    ulong Slot, uint ServedBy, bool Duplicate, ulong ClientId, ulong Sequence, string Endpoint,
    long Revision = 0, bool CompareFailed = false, long CreateRevision = 0, long ModRevision = 0, long Version = 0);
