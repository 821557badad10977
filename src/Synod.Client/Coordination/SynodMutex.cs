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
    /// <summary>How long leaving the queue after a cancellation or failure may take.</summary>
    private static readonly TimeSpan LeaveTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Writes the contender's key (if absent) and waits until no key of the prefix is older; returns its create revision.
    /// A wait that is cancelled or fails takes the key out of the queue again (if it is still this wait's), so that
    /// the contenders behind it are not left waiting for it.
    /// </summary>
    public static async Task<long> WaitForTurnAsync(SynodSession session, string prefix, string contender, ReadOnlyMemory<byte> value, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, session.Lost);
        var client = session.Client;
        var key = Encoding.UTF8.GetBytes(contender);
        long myRevision = 0;
        try
        {
            // One transaction writes the key (if absent) and reads the queue at the same revision.
            var queue = SynodRange.Prefix(prefix);
            var txn = await client.Txn()
                .If(key, SynodCompare.Absent)
                .Then(SynodTxn.Put(key, value, session.LeaseId), SynodTxn.Range(queue))
                .Else(SynodTxn.Get(key), SynodTxn.Range(queue))
                .CommitAsync(cancellationToken: linked.Token);
            (bool Mine, byte[]? Predecessor, long Revision)? look = null;
            if (txn.ResultsAvailable && txn.Results.Count == 2 && txn.Results[0].Kv is { } kv)
            {
                myRevision = kv.CreateRevision;
                var range = txn.Results[1];
                if (!range.More)
                {
                    look = Judge([.. range.Kvs.Select(k => new SynodKeyValue(k.Key.Memory, k.Value.Memory, k.CreateRevision, k.ModRevision, k.Version))], key, myRevision, txn.Revision);
                }
            }
            else
            {
                myRevision = (await client.GetAsync(key, cancellationToken: linked.Token)).CreateRevision;
            }

            while (true)
            {
                var (mine, predecessor, revision) = look ?? await LookAsync(client, prefix, key, myRevision, linked.Token);
                look = null;
                if (!mine)
                {
                    throw new SynodSessionLostException($"the key {contender} vanished while waiting in {prefix}: the session's lease ended ({session.LostReason ?? "expired"}).");
                }

                if (predecessor is null)
                {
                    return myRevision;
                }

                // Wait for the predecessor alone to go, then look again (it may have been cut from the queue, not released).
                long deleted = 0;
                await foreach (var change in client.WatchAsync(
                    new SynodRange(predecessor, (byte[])[.. predecessor, 0]), new SynodWatchOptions { StartRevision = revision + 1 }, linked.Token))
                {
                    if (change.Type == SynodWatchEventType.Delete)
                    {
                        deleted = change.Revision;
                        break;
                    }
                }

                look = await LookAtAsync(client, prefix, key, myRevision, deleted, linked.Token);
            }
        }
        catch (OperationCanceledException) when (session.IsLost && !cancellationToken.IsCancellationRequested)
        {
            throw new SynodSessionLostException($"the session was lost while waiting in {prefix}: {session.LostReason}");
        }
        catch (Exception) when (myRevision != 0 && !session.IsLost)
        {
            await LeaveAsync(client, contender, myRevision);
            throw;
        }
    }

    /// <summary>
    /// The queue as it stood at <paramref name="revision"/> (the predecessor's deletion), read from a replica that has
    /// applied it, without a read index: that state is a fact of the log, and keys older than this contender's are never
    /// created later, so if none is left there, none ever will be. A replica that has not applied that far, or a queue
    /// of more than one page, is read linearizably instead (null).
    /// </summary>
    private static async Task<(bool Mine, byte[]? Predecessor, long Revision)?> LookAtAsync(
        SynodClient client, string prefix, byte[] key, long myRevision, long revision, CancellationToken cancellationToken)
    {
        try
        {
            var page = await client.RangeAsync(SynodRange.Prefix(prefix) with { KeysOnly = true, Revision = revision }, stale: true, cancellationToken: cancellationToken);
            return page.More ? null : Judge(page.Kvs, key, myRevision, revision);
        }
        catch (Exception e) when (e is SynodInvalidArgumentException or SynodCompactedException or SynodUnavailableException)
        {
            // Not applied that far, compacted past it, or unreachable now: read the queue linearizably instead.
            return null;
        }
    }

    private static (bool Mine, byte[]? Predecessor, long Revision) Judge(IReadOnlyList<SynodKeyValue> kvs, byte[] key, long myRevision, long revision)
    {
        var mine = false;
        SynodKeyValue? predecessor = null;
        foreach (var kv in kvs)
        {
            if (kv.Key.Span.SequenceEqual(key))
            {
                mine = kv.CreateRevision == myRevision;
            }
            else if (kv.CreateRevision < myRevision && (predecessor is null || kv.CreateRevision > predecessor.CreateRevision))
            {
                predecessor = kv;
            }
        }

        return (mine, predecessor?.Key.ToArray(), revision);
    }

    /// <summary>
    /// The queue as one state (every page at the first page's revision): whether this contender's key is still there
    /// with its create revision, the key just ahead of it (null: it is first), and the revision read at.
    /// </summary>
    private static async Task<(bool Mine, byte[]? Predecessor, long Revision)> LookAsync(
        SynodClient client, string prefix, byte[] key, long myRevision, CancellationToken cancellationToken)
    {
        var whole = SynodRange.Prefix(prefix) with { KeysOnly = true };
        var page = await client.RangeAsync(whole, cancellationToken: cancellationToken);
        var revision = page.Revision;
        var mine = false;
        SynodKeyValue? predecessor = null;
        while (true)
        {
            foreach (var kv in page.Kvs)
            {
                if (kv.Key.Span.SequenceEqual(key))
                {
                    mine = kv.CreateRevision == myRevision;
                }
                else if (kv.CreateRevision < myRevision && (predecessor is null || kv.CreateRevision > predecessor.CreateRevision))
                {
                    predecessor = kv;
                }
            }

            if (!page.More || page.Kvs.Count == 0)
            {
                return (mine, predecessor?.Key.ToArray(), revision);
            }

            page = await client.RangeAsync(whole with { From = (byte[])[.. page.Kvs[^1].Key.Span, 0], Revision = revision }, cancellationToken: cancellationToken);
        }
    }

    /// <summary>Every key under the prefix, read page by page at the first page's revision (one state), and that revision.</summary>
    public static async Task<(List<SynodKeyValue> Kvs, long Revision)> ReadAllAsync(SynodClient client, string prefix, CancellationToken cancellationToken)
    {
        var whole = SynodRange.Prefix(prefix);
        var page = await client.RangeAsync(whole, cancellationToken: cancellationToken);
        var revision = page.Revision;
        var kvs = new List<SynodKeyValue>(page.Kvs);
        while (page.More && page.Kvs.Count > 0)
        {
            page = await client.RangeAsync(whole with { From = (byte[])[.. page.Kvs[^1].Key.Span, 0], Revision = revision }, cancellationToken: cancellationToken);
            kvs.AddRange(page.Kvs);
        }

        return (kvs, revision);
    }

    private static async Task LeaveAsync(SynodClient client, string contender, long myRevision)
    {
        try
        {
            await client.DeleteAsync(
                contender, new SynodCompare(CompareTarget.CreateRevision, CompareOp.Equal, myRevision), new SynodCallOptions { OperationTimeout = LeaveTimeout });
        }
        catch (SynodException)
        {
            // Unreachable now: the key goes when the session's lease ends.
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
