using System.Globalization;
using Synod.Client;

namespace Synod.Chaos;

/// <summary>
/// A bank client: opens the accounts once (a transaction that puts them all only if the first is absent), then
/// alternates reading every account in one transaction with moving an amount between two of them in one transaction
/// that holds only if neither account changed since it read them. Every read is kept for <see cref="BankCheck"/>.
/// </summary>
internal sealed class BankClient(int id, IReadOnlyList<string> endpoints, int seed, RunClock clock, BankLedger ledger)
{
    public const int Accounts = 4;
    public const long Total = 400;

    private readonly Random _random = new(unchecked((seed * 7_919) + 1_000 + id));

    public async Task RunAsync(CancellationToken stop, CancellationToken abort)
    {
        await using var client = WorkloadClient.NewClient(endpoints, _random);
        while (!stop.IsCancellationRequested && !abort.IsCancellationRequested)
        {
            try
            {
                if (ledger.OpenedAt is null)
                {
                    var open = client.Txn().If("b0", SynodCompare.Absent);
                    open.Then([.. Enumerable.Range(0, Accounts).Select(a => SynodTxn.Put($"b{a}", $"{Total / Accounts}"))]);
                    if ((await open.CommitAsync(cancellationToken: abort)).Succeeded)
                    {
                        ledger.Opened(clock.Now);
                    }
                }

                var (balances, modRevisions) = await ReadAllAsync(client, abort);
                if (balances is null || balances.Any(b => b is null))
                {
                    continue;
                }

                ledger.Opened(clock.Now);
                var from = _random.Next(Accounts);
                var to = (from + 1 + _random.Next(Accounts - 1)) % Accounts;
                var amount = Math.Min(balances[from]!.Value, 1 + _random.Next(20));
                await client.Txn()
                    .If($"b{from}", SynodCompare.ModRevisionIs(modRevisions[from]))
                    .If($"b{to}", SynodCompare.ModRevisionIs(modRevisions[to]))
                    .Then(SynodTxn.Put($"b{from}", $"{balances[from] - amount}"), SynodTxn.Put($"b{to}", $"{balances[to] + amount}"))
                    .CommitAsync(cancellationToken: abort);
                ledger.Transferred();
            }
            catch (Exception e) when (e is SynodException && !abort.IsCancellationRequested)
            {
                // An unknown transfer may or may not have moved money; either way the sum holds. Pause and go on.
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
        }
    }

    /// <summary>One read of every account in one transaction; null balances when a retry's reads were not repeated.</summary>
    private async Task<(long?[]? Balances, long[] ModRevisions)> ReadAllAsync(SynodClient client, CancellationToken abort)
    {
        var invoke = clock.Now;
        var read = await client.Txn().Then([.. Enumerable.Range(0, Accounts).Select(a => SynodTxn.Get($"b{a}"))]).CommitAsync(cancellationToken: abort);
        if (!read.ResultsAvailable)
        {
            return (null, []);
        }

        var balances = read.Results.Select(r => r.Found ? long.Parse(r.Kv.Value.ToStringUtf8(), CultureInfo.InvariantCulture) : (long?)null).ToArray();
        ledger.Add(new BankCheck.Read(invoke, balances, id));
        return (balances, [.. read.Results.Select(r => r.Found ? r.Kv.ModRevision : 0)]);
    }
}

/// <summary>What the bank clients of a run did, for the check and the summary; safe to use from many clients at once.</summary>
internal sealed class BankLedger
{
    private readonly Lock _gate = new();
    private readonly List<BankCheck.Read> _reads = [];
    private double? _openedAt;
    private int _transfers;
    private int _failures;

    public double? OpenedAt
    {
        get
        {
            lock (_gate)
            {
                return _openedAt;
            }
        }
    }

    public void Opened(double at)
    {
        lock (_gate)
        {
            _openedAt ??= at;
        }
    }

    public void Add(BankCheck.Read read)
    {
        lock (_gate)
        {
            _reads.Add(read);
        }
    }

    public void Transferred()
    {
        lock (_gate)
        {
            _transfers++;
        }
    }

    public void Failed()
    {
        lock (_gate)
        {
            _failures++;
        }
    }

    public (IReadOnlyList<BankCheck.Read> Reads, int Transfers, int Failures, double? OpenedAt) Snapshot()
    {
        lock (_gate)
        {
            return ([.. _reads], _transfers, _failures, _openedAt);
        }
    }
}
