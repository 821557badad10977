using Synod.Chaos;

namespace Synod.Tests.Chaos;

/// <summary>
/// The checks behind `synod chaos --workload bank|watch`, each shown to reject a deliberately broken history: a bank
/// read whose sum is off, one that finds only some accounts, one that finds none after they were opened; a watcher that
/// missed, repeated, reordered or misreported an acknowledged change.
/// </summary>
public sealed class WorkloadCheckTests
{
    private static BankCheck.Read Read(double at, params long?[] balances) => new(at, balances, ClientId: 1);

    [Fact]
    public void The_bank_check_passes_reads_that_sum_to_the_total_and_reads_before_the_accounts_were_opened()
    {
        var reads = new[] { Read(1.0, null, null), Read(2.0, 100, 100, 100, 100), Read(3.0, 50, 150, 0, 200) }
            .Select(r => r with { Balances = r.Balances.Length == 2 ? [null, null, null, null] : r.Balances }).ToList();

        Assert.Empty(BankCheck.Problems(reads, accounts: 4, total: 400, openedAt: 1.5));
    }

    [Fact]
    public void The_bank_check_rejects_a_lost_transfer_a_torn_read_and_accounts_gone_after_opening()
    {
        Assert.Contains("the sum is 390", Assert.Single(BankCheck.Problems([Read(2.0, 90, 100, 100, 100)], 4, 400, 1.0)));
        Assert.Contains("found only some accounts", Assert.Single(BankCheck.Problems([Read(2.0, 100, null, 100, 100)], 4, 400, 1.0)));
        Assert.Contains("found no account, after they were opened", Assert.Single(BankCheck.Problems([Read(2.0, null, null, null, null)], 4, 400, 1.0)));
        Assert.Contains("or a balance is negative", Assert.Single(BankCheck.Problems([Read(2.0, -10, 110, 150, 150)], 4, 400, 1.0)));
    }

    private static readonly IReadOnlyDictionary<long, WatchCheck.Change> Acknowledged = new Dictionary<long, WatchCheck.Change>
    {
        [5] = new(5, "k1", "a"),
        [6] = new(6, "k2", "b"),
        [8] = new(8, "k1", null),
    };

    private static WatchCheck.Watcher Saw(long from, long coveredTo, params (long Revision, string Key, string? Value)[] changes) =>
        new(1, from, [.. changes.Select(c => new WatchCheck.Change(c.Revision, c.Key, c.Value))], coveredTo);

    [Fact]
    public void The_watch_check_passes_a_watcher_that_saw_every_acknowledged_change_it_covered()
    {
        // Revision 7 was a change nobody acknowledged (its client timed out): seeing it is fine.
        var watcher = Saw(5, 9, (5, "k1", "a"), (6, "k2", "b"), (7, "k3", "c"), (8, "k1", null));

        Assert.Empty(WatchCheck.Problems([watcher], Acknowledged));
        Assert.Empty(WatchCheck.Problems([Saw(7, 9, (7, "k3", "c"), (8, "k1", null))], Acknowledged));
    }

    [Fact]
    public void The_watch_check_rejects_a_missed_a_repeated_a_reordered_and_a_misreported_change()
    {
        Assert.Contains("never got the acknowledged k2=b at revision 6", Assert.Single(WatchCheck.Problems([Saw(5, 9, (5, "k1", "a"), (8, "k1", null))], Acknowledged)));
        Assert.Contains("twice", Assert.Single(WatchCheck.Problems([Saw(5, 9, (5, "k1", "a"), (5, "k1", "a"), (6, "k2", "b"), (8, "k1", null))], Acknowledged)));
        Assert.Contains("out of order", Assert.Single(WatchCheck.Problems([Saw(5, 9, (6, "k2", "b"), (5, "k1", "a"), (8, "k1", null))], Acknowledged)));
        Assert.Contains("where the acknowledged write was k2=b", Assert.Single(WatchCheck.Problems([Saw(5, 9, (5, "k1", "a"), (6, "k2", "x"), (8, "k1", null))], Acknowledged)));
        Assert.Contains("before its start", Assert.Single(WatchCheck.Problems([Saw(6, 9, (5, "k1", "a"), (6, "k2", "b"), (8, "k1", null))], Acknowledged)));
    }

    private static LockCheck.Change Counter(long revision, string value) => new(revision, value);

    [Fact]
    public void The_lock_check_passes_a_counter_raised_by_one_under_rising_tokens_within_the_acknowledged_writes()
    {
        var changes = new[] { Counter(10, "1:4"), Counter(15, "2:12"), Counter(30, "3:29") };
        Assert.Empty(LockCheck.Problems(changes, acknowledged: 2, unknown: 1));
        Assert.Empty(LockCheck.Problems(changes, acknowledged: 3, unknown: 0));
    }

    [Fact]
    public void The_lock_check_rejects_what_an_unfenced_counter_does_a_lost_increment_and_a_late_holders_write()
    {
        // Written without fencing: the holder paused past its TTL (token 12) wrote after the next holder (token 20),
        // both having read 1, so one increment is lost and an older token lands after a newer one.
        var unfenced = new[] { Counter(10, "1:4"), Counter(21, "2:20"), Counter(22, "2:12") };
        var problems = LockCheck.Problems(unfenced, acknowledged: 3, unknown: 0);
        Assert.Contains(problems, p => p.Contains("from 2 to 2", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("accepted token 12", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("ends at 2, but 3 increments were acknowledged", StringComparison.Ordinal));
        Assert.Contains("not COUNT:TOKEN", Assert.Single(LockCheck.Problems([Counter(5, "garbage")], acknowledged: 0, unknown: 0)));
    }
}
