namespace Synod.Kv;

/// <summary>
/// A key's value and its revisions (docs/api.md, "Revisions"): the cluster revision of the command that created the
/// key, of the one that last changed it, and how many writes it has had since it was created (1 after the first).
/// A deleted key has no entry; asked about, it reads as version 0 with revisions 0.
/// </summary>
/// <param name="Value">
/// The value; shared with readers, never modified. A slice of its command's array when a put without a condition wrote
/// it (<see cref="KvCommand.DecodeSharingValue"/>), its own array when another command did; a slice of the snapshot array
/// when a snapshot restored it (<see cref="KvStateMachine.Restore(ReadOnlyMemory{byte}, bool, int, KvBugs, KvHistoryLimits?)"/>).
/// </param>
/// <param name="CreateRevision">The revision of the put that created the key (since it was last absent).</param>
/// <param name="ModRevision">The revision of the put that last wrote it.</param>
/// <param name="Version">Puts since it was created: 1, 2, 3, ...</param>
public readonly record struct KvEntry(ReadOnlyMemory<byte> Value, long CreateRevision, long ModRevision, long Version)
{
    /// <summary>Equal when the revisions are and the values hold the same bytes.</summary>
    public bool Equals(KvEntry other) =>
        CreateRevision == other.CreateRevision && ModRevision == other.ModRevision && Version == other.Version
        && Value.Span.SequenceEqual(other.Value.Span);

    public override int GetHashCode() => HashCode.Combine(CreateRevision, ModRevision, Version, Value.Length);
}
