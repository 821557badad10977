using System.Globalization;
using Synod.Client;
using Synod.Client.Coordination;

namespace Synod.Chaos;

/// <summary>
/// A lock client: opens a session, takes the lock, reads the counter, and writes it one higher with its token beside
/// it, fenced by the token (the write applies only while the lock key is still its own); then releases. Now and then
/// it stops keeping its session alive for longer than the TTL while it holds the lock, as a paused process would, so
/// the lock passes on and its late write must be refused. Every outcome goes to the <see cref="LockLedger"/>.
/// </summary>
internal sealed class LockClient(int id, IReadOnlyList<string> endpoints, int seed, LockLedger ledger, bool unfenced = false)
{
    private static async Task<long> ReadCountAsync(SynodClient client, CancellationToken abort)
    {
        try
        {
            var current = await client.GetAsync(CounterKey, cancellationToken: abort);
            return long.Parse(current.ValueAsString().Split(':')[0], CultureInfo.InvariantCulture);
        }
        catch (SynodNotFoundException)
        {
            return 0;
        }
    }

    public const string LockName = "chaos-lock";
    public const string CounterKey = "chaos-counter";
    public const long TtlSeconds = 3;

    /// <summary>The chance that a holder pauses past its TTL before its write.</summary>
    private const double PauseProbability = 0.15;

    private readonly Random _random = new(unchecked((seed * 7_919) + 2_000 + id));

    public async Task RunAsync(CancellationToken stop, CancellationToken abort)
    {
        await using var client = WorkloadClient.NewClient(endpoints, _random);
        while (!stop.IsCancellationRequested && !abort.IsCancellationRequested)
        {
            SynodSession? session = null;
            try
            {
                session = await client.CreateSessionAsync(TtlSeconds, abort);
                using var waiting = CancellationTokenSource.CreateLinkedTokenSource(stop, abort);
                waiting.CancelAfter(TimeSpan.FromSeconds(20));
                var token = await new SynodMutex(session, LockName).LockAsync(waiting.Token);
                ledger.Acquired();
                var count = await ReadCountAsync(client, abort);
                if (_random.NextDouble() < PauseProbability)
                {
                    // Paused past the TTL while holding the lock: the lease expires and another client takes the lock.
                    session.SuspendKeepAlive(TimeSpan.FromSeconds(TtlSeconds + 2));
                    await Task.Delay(TimeSpan.FromSeconds(TtlSeconds + 1.5), abort);
                    ledger.Paused();
                }

                var value = $"{count + 1}:{token.Token}";
                var txn = client.Txn();
                if (!unfenced)
                {
                    txn.If(token.Key, new SynodCompare(Protocol.CompareTarget.CreateRevision, Protocol.CompareOp.Equal, token.Token));
                }

                try
                {
                    var result = await txn.Then(SynodTxn.Put(CounterKey, value)).CommitAsync(cancellationToken: abort);
                    ledger.Written(result.Succeeded);
                }
                catch (SynodException e) when (e is SynodUnavailableException or SynodServerException && !abort.IsCancellationRequested)
                {
                    ledger.Unknown();
                    throw;
                }

                await token.UnlockAsync(abort);
            }
            catch (Exception e) when ((e is SynodException || (e is OperationCanceledException && !abort.IsCancellationRequested)) && !abort.IsCancellationRequested)
            {
                ledger.Failed();
                try
                {
                    await Task.Delay(_random.Next(50, 150), stop);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
            finally
            {
                if (session is not null)
                {
                    await session.DisposeAsync();
                }
            }
        }
    }
}

/// <summary>What the lock clients did; safe to use from many clients at once.</summary>
internal sealed class LockLedger
{
    private readonly Lock _gate = new();
    private int _acquired;
    private int _acknowledged;
    private int _refused;
    private int _unknown;
    private int _paused;
    private int _failures;

    public void Acquired() => Add(ref _acquired);

    public void Paused() => Add(ref _paused);

    public void Written(bool applied) => Add(ref applied ? ref _acknowledged : ref _refused);

    public void Unknown() => Add(ref _unknown);

    public void Failed() => Add(ref _failures);

    private void Add(ref int counter)
    {
        lock (_gate)
        {
            counter++;
        }
    }

    /// <summary>Locks taken, increments acknowledged, fenced writes refused, writes of unknown outcome, pauses past the TTL, other failures.</summary>
    public (int Acquired, int Acknowledged, int Refused, int Unknown, int Paused, int Failures) Snapshot()
    {
        lock (_gate)
        {
            return (_acquired, _acknowledged, _refused, _unknown, _paused, _failures);
        }
    }
}
