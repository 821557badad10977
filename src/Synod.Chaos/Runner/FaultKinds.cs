namespace Synod.Chaos;

/// <summary>Names of the fault kinds on the command line and in the timeline, and which ones this machine allows.</summary>
public static class FaultKinds
{
    public static IReadOnlyList<FaultKind> All { get; } =
        [FaultKind.Kill, FaultKind.Pause, FaultKind.Restart, FaultKind.Wipe, FaultKind.Partition, FaultKind.Loss, FaultKind.Delay, FaultKind.Replace, FaultKind.Resize];

    /// <summary>The kinds that change the membership: a run with them starts spare replicas' proxies and certificates.</summary>
    public static IReadOnlySet<FaultKind> Membership { get; } = new HashSet<FaultKind> { FaultKind.Replace, FaultKind.Resize };

    public static string Name(FaultKind kind) => kind switch
    {
        FaultKind.Kill => "kill",
        FaultKind.Pause => "pause",
        FaultKind.Restart => "restart",
        FaultKind.Wipe => "wipe",
        FaultKind.Partition => "partition",
        FaultKind.Loss => "loss",
        FaultKind.Delay => "delay",
        FaultKind.Replace => "replace",
        FaultKind.Resize => "resize",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a fault kind."),
    };

    /// <summary>
    /// Every kind this machine can inject. Pauses need SIGSTOP and SIGCONT, which Windows lacks; everything else
    /// works wherever .NET runs.
    /// </summary>
    public static IReadOnlySet<FaultKind> Supported() =>
        OperatingSystem.IsWindows() ? new HashSet<FaultKind>(All.Where(k => k != FaultKind.Pause)) : new HashSet<FaultKind>(All);

    /// <summary>
    /// What a run injects unless told otherwise: every supported kind but the membership changes and packet loss and
    /// delay (which need `--net netns`), which are asked for by name.
    /// </summary>
    public static IReadOnlySet<FaultKind> Default() => new HashSet<FaultKind>(Supported().Except(Membership).Except(Shaping));

    /// <summary>The kinds that shape packets, which only `--net netns` can.</summary>
    public static IReadOnlySet<FaultKind> Shaping { get; } = new HashSet<FaultKind> { FaultKind.Loss, FaultKind.Delay };

    /// <summary>Parses "kill,pause,restart": a comma-separated list of kinds, each once.</summary>
    /// <exception cref="FormatException">An unknown, repeated or unsupported kind; the message names it and lists the valid ones.</exception>
    public static IReadOnlySet<FaultKind> Parse(string text)
    {
        var kinds = new HashSet<FaultKind>();
        var supported = Supported();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var kind = All.Cast<FaultKind?>().FirstOrDefault(k => Name(k!.Value).Equals(part, StringComparison.OrdinalIgnoreCase))
                ?? throw new FormatException($"'{part}' is not a fault kind; use a comma-separated list of {string.Join(", ", All.Select(Name))}.");
            if (!supported.Contains(kind))
            {
                throw new FormatException($"'{part}' is not possible on this machine (it needs POSIX signals); use {string.Join(", ", supported.Select(Name))}.");
            }

            if (!kinds.Add(kind))
            {
                throw new FormatException($"'{part}' is listed twice; name each fault kind once.");
            }
        }

        return kinds;
    }

    public static string Describe(IEnumerable<FaultKind> kinds) =>
        kinds.Any() ? string.Join(",", All.Where(kinds.Contains).Select(Name)) : "none";
}
