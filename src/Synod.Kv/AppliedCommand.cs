namespace Synod.Kv;

/// <summary>
/// The answer to one command of a slot. <paramref name="Duplicate"/> is true when the command was a retry of
/// the client's last applied command, in which case <paramref name="Status"/> is that command's first result.
/// </summary>
/// <param name="ClientId">The command's client id, or 0 if the bytes could not be decoded.</param>
/// <param name="Sequence">The command's sequence, or 0 if the bytes could not be decoded.</param>
/// <param name="Status">The outcome.</param>
/// <param name="Duplicate">True if this is a retry answered from the client's session.</param>
/// <param name="RegisteredClientId">For a <see cref="KvOperation.Register"/> applied, the client id it assigned; otherwise 0.</param>
/// <param name="Revision">
/// For a put or delete: the revision of the change it made (also for a duplicate: the first application's), or, when
/// it changed nothing (a compare that failed, a delete of an absent key), the revision it was applied at.
/// </param>
/// <param name="Entry">
/// For a put applied now, the key's entry it wrote; for a failed compare, the key's entry as it stands (null: absent).
/// For a duplicate, the key's fields its first answer gave (without the value).
/// </param>
/// <param name="Txn">For a transaction applied now, which branch ran and each operation's answer; null for a duplicate.</param>
public readonly record struct AppliedCommand(
    ulong ClientId, ulong Sequence, KvStatus Status, bool Duplicate, ulong RegisteredClientId = 0, long Revision = 0, KvEntry? Entry = null,
    KvTxnResult? Txn = null);
