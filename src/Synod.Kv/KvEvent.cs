namespace Synod.Kv;

/// <summary>
/// One change to one key, kept in the history window (docs/api.md, "History and compaction"): what a watcher is sent,
/// and what a read at a past revision undoes. A transaction's changes share its revision.
/// </summary>
/// <param name="Revision">The revision of the command that made the change.</param>
/// <param name="Key">The key; shared, never modified.</param>
/// <param name="Entry">The key's entry after a put; null for a delete.</param>
/// <param name="Previous">The key's entry before the change; null if it was absent.</param>
public readonly record struct KvEvent(long Revision, byte[] Key, KvEntry? Entry, KvEntry? Previous)
{
    /// <summary>True for a delete.</summary>
    public bool IsDelete => Entry is null;
}
