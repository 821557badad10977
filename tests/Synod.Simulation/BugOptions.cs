using System.CommandLine;
using Synod.Core;

namespace Synod.Simulation;

/// <summary>
/// `--bug NAME` and `--list-bugs`, shared by the simulator's and the explorer's command lines: both switch on the same
/// catalog of known protocol bugs (<see cref="ProtocolBugCatalog"/>), which their runs must then catch.
/// </summary>
public sealed class BugOptions(string mustThen)
{
    public Option<string?> Bug { get; } = new("--bug") { Description = $"Switch on a known protocol bug (see --list-bugs); {mustThen}" };

    public Option<bool> List { get; } = new("--list-bugs") { Description = "Print the protocol bugs that --bug can switch on, one per line, and exit." };

    /// <summary>
    /// With --list-bugs, prints the catalog and returns 0; with a --bug not in it, writes one line to stderr and returns 2;
    /// otherwise returns null, with <paramref name="bugs"/> the bug switched on (none if --bug was not given).
    /// </summary>
    public int? Read(ParseResult parse, out ProtocolBugs bugs)
    {
        bugs = ProtocolBugs.None;
        if (parse.GetValue(List))
        {
            foreach (var (name, _, description) in ProtocolBugCatalog.All)
            {
                Console.WriteLine($"{name}\t{description}");
            }

            return 0;
        }

        var bugName = parse.GetValue(Bug);
        if (bugName is not null && !ProtocolBugCatalog.TryParse(bugName, out bugs))
        {
            Console.Error.WriteLine($"error: --bug '{bugName}' is not a known bug; run with --list-bugs to see them.");
            return 2;
        }

        return null;
    }
}
