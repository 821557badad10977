using System.Text;
using Synod.Protocol;

namespace Synod.Client.Coordination;

/// <summary>
/// A distributed lock (etcd's concurrency.Mutex): each contender writes a key under the lock's prefix, attached to its
/// session's lease; contenders queue in the order of their keys' create revisions, and each waits only for the deletion
/// of the one just before it (no thundering herd). Holding the lock gives a <see cref="SynodLockToken"/>: the create
/// revision of the holder's key, which only grows from one holder to the next.
/// </summary>
/// <remarks>
/// A lock alone never guarantees that one process acts at a time: a holder paused past its lease's TTL loses the lock
/// without knowing. Writes that must not interleave go through <see cref="SynodLockToken.PutIfHeldAsync(string, string, CancellationToken)"/>,
/// which applies only while the token is still the holder's.
/// </remarks>
public sealed class SynodMutex(SynodSession session, string name)
{
    private readonly string _prefix = name.EndsWith('/') ? name : name + "/";

    /// <summary>This contender's key: the prefix and the session's lease id.</summary>
    public string Key => $"{_prefix}{session.LeaseId:x16}";

    /// <summary>Waits until this session holds the lock and returns its fencing token.</summary>
    /// <exception cref="SynodSessionLostException">The session was lost while waiting (its key is gone).</exception>
    public async Task<SynodLockToken> LockAsync(CancellationToken cancellationToken = default)
    {
        var revision = await Queue.WaitForTurnAsync(session, _prefix, Key, ReadOnlyMemory<byte>.Empty, cancellationToken);
        return new SynodLockToken(session, Key, revision);
    }
}

/// <summary>The queue under a prefix that the mutex and the election share.</summary>
internal static class Queue
{
    /// <summary>Writes the contender's key (if absent) and waits until no key of the prefix is older; returns its create revision.</summary>
    public static async Task<long> WaitForTurnAsync(SynodSession session, string prefix, string contender, ReadOnlyMemory<byte> value, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, session.Lost);
        var client = session.Client;
        var key = Encoding.UTF8.GetBytes(contender);
        var txn = await client.Txn()
            .If(key, SynodCompare.Absent)
            .Then(SynodTxn.Put(key, value, session.LeaseId))
            .Else(SynodTxn.Get(key))
            .CommitAsync(cancellationToken: linked.Token);
        long myRevision;
        if (txn.ResultsAvailable && txn.Results.Count > 0 && txn.Results[0].Kv is { } kv)
        {
            myRevision = kv.CreateRevision;
        }
        else
        {
            myRevision = (await client.GetAsync(key, cancellationToken: linked.Token)).CreateRevision;
        }

        while (true)
        {
            linked.Token.ThrowIfCancellationRequested();
            var range = await client.RangeAsync(SynodRange.Prefix(prefix) with { KeysOnly = true }, cancellationToken: linked.Token);
            var mine = range.Kvs.FirstOrDefault(k => k.Key.Span.SequenceEqual(key));
            if (mine is null || mine.CreateRevision != myRevision)
            {
                throw new SynodSessionLostException($"the key {contender} vanished while waiting in {prefix}: the session's lease ended ({session.LostReason ?? "expired"}).");
            }

            var predecessor = range.Kvs.Where(k => k.CreateRevision < myRevision).MaxBy(k => k.CreateRevision);
            if (predecessor is null)
            {
                return myRevision;
            }

            // Wait for the predecessor alone to go, then look again (it may have been cut from the queue, not released).
            await foreach (var change in client.WatchAsync(
                new SynodRange(predecessor.Key, (byte[])[.. predecessor.Key.Span, 0]),
                new SynodWatchOptions { StartRevision = range.Revision + 1 },
                linked.Token))
            {
                if (change.Type == SynodWatchEventType.Delete)
                {
                    break;
                }
            }
        }
    }
}

/// <summary>
/// The proof of holding a lock: <see cref="Token"/> is the create revision of the holder's key, larger for every later
/// holder. Pass it to whatever the lock guards, or write through <see cref="PutIfHeldAsync(string, string, CancellationToken)"/>.
/// </summary>
public sealed class SynodLockToken(SynodSession session, string key, long token)
{
    /// <summary>The fencing token: the lock key's create revision.</summary>
    public long Token { get; } = token;

    /// <summary>The holder's lock key.</summary>
    public string Key { get; } = key;

    /// <summary>
    /// Writes <paramref name="key"/> only if this token still holds the lock when the write is applied (one transaction:
    /// the lock key's create revision is compared with the token). False: the lock was lost and nothing was written.
    /// </summary>
    public async Task<bool> PutIfHeldAsync(string key, string value, CancellationToken cancellationToken = default)
    {
        var result = await session.Client.Txn()
            .If(Key, new SynodCompare(CompareTarget.CreateRevision, CompareOp.Equal, Token))
            .Then(SynodTxn.Put(key, value))
            .CommitAsync(cancellationToken: cancellationToken);
        return result.Succeeded;
    }

    /// <summary>Releases the lock (deletes the key, only if it is still this holder's).</summary>
    public async Task UnlockAsync(CancellationToken cancellationToken = default) =>
        await session.Client.DeleteAsync(Key, new SynodCompare(CompareTarget.CreateRevision, CompareOp.Equal, Token), cancellationToken: cancellationToken);
}

/// <summary>A session was lost while a recipe depended on it: its lease ended, and with it the keys it held.</summary>
public sealed class SynodSessionLostException(string message) : SynodException(message);
