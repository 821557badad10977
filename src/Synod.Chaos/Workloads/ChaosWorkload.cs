namespace Synod.Chaos;

/// <summary>What the clients of a chaos run do (`synod chaos --workload`); any mix of them.</summary>
[Flags]
public enum ChaosWorkload
{
    None = 0,

    /// <summary>Gets, puts and deletes of a few keys, checked for linearizability.</summary>
    Register = 1,

    /// <summary>Compare-and-swaps on the same keys (write only if the key holds what the client last saw), checked with them.</summary>
    Cas = 2,

    /// <summary>Transfers between accounts with multi-key transactions; every read of all accounts must sum to the total.</summary>
    Bank = 4,

    /// <summary>Watchers of the keys through the faults; each one's changes are checked against the acknowledged writes.</summary>
    Watch = 8,

    /// <summary>
    /// Clients take a lock, increment a counter with a write fenced by their token and release it; some pause past their
    /// lease's TTL while holding it. The counter's changes must each add one, with strictly increasing tokens.
    /// </summary>
    Lock = 16,

    All = Register | Cas | Bank | Watch | Lock,
}

/// <summary>Parses and names workloads for the command line.</summary>
public static class ChaosWorkloads
{
    private static readonly (string Name, ChaosWorkload Workload)[] Names =
        [("register", ChaosWorkload.Register), ("cas", ChaosWorkload.Cas), ("bank", ChaosWorkload.Bank), ("watch", ChaosWorkload.Watch), ("lock", ChaosWorkload.Lock)];

    /// <exception cref="FormatException">An unknown name; the message lists the known ones.</exception>
    public static ChaosWorkload Parse(string text)
    {
        var workloads = ChaosWorkload.None;
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var match = Names.FirstOrDefault(n => string.Equals(n.Name, part, StringComparison.OrdinalIgnoreCase));
            if (match.Name is null)
            {
                throw new FormatException($"--workload '{part}' is not one of {Describe(ChaosWorkload.All)}; give one or more, comma-separated.");
            }

            workloads |= match.Workload;
        }

        return workloads == ChaosWorkload.None ? throw new FormatException("--workload is empty; give register, cas, bank, watch or lock (comma-separated).") : workloads;
    }

    public static string Describe(ChaosWorkload workloads) => string.Join(",", Names.Where(n => workloads.HasFlag(n.Workload)).Select(n => n.Name));
}
