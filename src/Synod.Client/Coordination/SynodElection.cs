using System.Runtime.CompilerServices;
using System.Text;
using Synod.Protocol;

namespace Synod.Client.Coordination;

/// <summary>
/// Leader election (etcd's concurrency.Election): candidates queue under the election's prefix like a mutex's
/// contenders, each with its value; the oldest key leads. A leader proclaims new values while it leads and resigns by
/// deleting its key; a leader whose session is lost stops leading when its lease ends. Anyone may observe the leader.
/// </summary>
public sealed class SynodElection(SynodClient client, string name)
{
    private readonly string _prefix = name.EndsWith('/') ? name : name + "/";

    /// <summary>Campaigns with <paramref name="value"/> under <paramref name="session"/> and returns once this candidate leads.</summary>
    /// <exception cref="SynodSessionLostException">The session was lost while campaigning.</exception>
    public async Task<SynodLeadership> CampaignAsync(SynodSession session, string value, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(session);
        var key = $"{_prefix}{session.LeaseId:x16}";
        var revision = await Queue.WaitForTurnAsync(session, _prefix, key, Encoding.UTF8.GetBytes(value), cancellationToken);
        return new SynodLeadership(session, key, revision);
    }

    /// <summary>
    /// The leader's value now and after every change: one item per new leader or proclaimed value, as (key, value,
    /// create revision); an empty key when no one leads. Ends only when cancelled.
    /// </summary>
    public async IAsyncEnumerable<(string Key, string Value, long Revision)> ObserveAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        (string, string, long)? last = null;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var range = await Queue.ReadAllAsync(client, _prefix, cancellationToken);
            var leader = range.Kvs.MinBy(k => k.CreateRevision);
            var now = leader is null
                ? (string.Empty, string.Empty, 0L)
                : (Encoding.UTF8.GetString(leader.Key.Span), Encoding.UTF8.GetString(leader.Value.Span), leader.CreateRevision);
            if (last != now)
            {
                last = now;
                yield return now;
            }

            // Any change under the prefix may change the leader or its value: look again after it.
            await foreach (var change in client.WatchAsync(SynodRange.Prefix(_prefix), new SynodWatchOptions { StartRevision = range.Revision + 1 }, cancellationToken))
            {
                if (change.Type != SynodWatchEventType.Progress)
                {
                    break;
                }
            }
        }
    }
}

/// <summary>Leading an election: proclaim a new value, or resign. The revision is the leader key's create revision (a fencing token).</summary>
public sealed class SynodLeadership(SynodSession session, string key, long revision)
{
    public string Key { get; } = key;

    /// <summary>The create revision of the leader's key: larger for every later leader.</summary>
    public long Revision { get; } = revision;

    /// <summary>Sets the value observers see, only while this candidate still leads. False: it no longer leads.</summary>
    public async Task<bool> ProclaimAsync(string value, CancellationToken cancellationToken = default)
    {
        var result = await session.Client.Txn()
            .If(Key, new SynodCompare(CompareTarget.CreateRevision, CompareOp.Equal, Revision))
            .Then(SynodTxn.Put(Key, value, session.LeaseId))
            .CommitAsync(cancellationToken: cancellationToken);
        return result.Succeeded;
    }

    /// <summary>Gives up leading: deletes the key if it is still this leader's.</summary>
    public async Task ResignAsync(CancellationToken cancellationToken = default) =>
        await session.Client.DeleteAsync(Key, new SynodCompare(CompareTarget.CreateRevision, CompareOp.Equal, Revision), cancellationToken: cancellationToken);
}
