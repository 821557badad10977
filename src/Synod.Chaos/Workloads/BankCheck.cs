namespace Synod.Chaos;

/// <summary>
/// The bank's invariant: every read of all the accounts in one transaction, once they were opened, finds every account
/// and the balances sum to the total; no balance is negative. A transfer moves money only under compares on both
/// accounts' mod revisions, so a lost update, a transfer applied twice or a read of a torn state breaks it.
/// </summary>
public static class BankCheck
{
    /// <summary>One read of every account: the balances found (null for an account that is absent), and when it was invoked.</summary>
    public sealed record Read(double Invoke, long?[] Balances, int ClientId);

    /// <summary>The problems with <paramref name="reads"/>, each a sentence; none when the invariant held.</summary>
    /// <param name="openedAt">When the client that opened the accounts heard they were open (null: never): a read invoked after it must find them.</param>
    public static IReadOnlyList<string> Problems(IReadOnlyList<Read> reads, int accounts, long total, double? openedAt)
    {
        var problems = new List<string>();
        foreach (var read in reads)
        {
            if (read.Balances.Length != accounts)
            {
                problems.Add($"a read by client {read.ClientId} at {read.Invoke:0.000} s found {read.Balances.Length} accounts, not {accounts}.");
                continue;
            }

            if (read.Balances.All(b => b is null))
            {
                if (openedAt is { } opened && read.Invoke > opened)
                {
                    problems.Add($"a read by client {read.ClientId} at {read.Invoke:0.000} s found no account, after they were opened at {opened:0.000} s.");
                }

                continue;
            }

            var shown = string.Join(", ", read.Balances.Select((b, i) => $"b{i}={b?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "absent"}"));
            if (read.Balances.Any(b => b is null))
            {
                problems.Add($"a read by client {read.ClientId} at {read.Invoke:0.000} s found only some accounts: {shown}.");
            }
            else if (read.Balances.Sum(b => b!.Value) != total || read.Balances.Any(b => b < 0))
            {
                problems.Add($"a read by client {read.ClientId} at {read.Invoke:0.000} s found {shown}: the sum is {read.Balances.Sum(b => b!.Value)}, not {total}, or a balance is negative.");
            }
        }

        return problems;
    }
}
