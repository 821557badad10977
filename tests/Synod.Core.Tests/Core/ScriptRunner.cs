using System.Runtime.CompilerServices;
using System.Text;
using Synod.Core.Messages;

namespace Synod.Tests.Core;

/// <summary>
/// Runs a script of steps against a <see cref="ScriptedCluster"/> and renders each step with its trace, in the
/// format of etcd raft's testdata: the step, a line "----", the trace, a blank line. Run the tests with
/// SYNOD_REWRITE_TESTDATA=1 to regenerate the expected traces, then review them as a diff.
/// </summary>
internal static class ScriptRunner
{
    public static string SourceDirectory([CallerFilePath] string path = "") => Path.Combine(Path.GetDirectoryName(path)!, "testdata");

    public static string Run(string script)
    {
        var output = new StringBuilder();
        ScriptedCluster? cluster = null;
        foreach (var step in ParseSteps(script))
        {
            if (step.StartsWith('#') || step.Length == 0)
            {
                output.AppendLine(step);
                continue;
            }

            string trace;
            try
            {
                cluster = Execute(cluster, step, out trace);
            }
            catch (Exception e) when (e is InvalidOperationException or FormatException or ArgumentException)
            {
                trace = $"error: {e.Message}\n";
            }

            output.AppendLine(step).AppendLine("----").Append(trace).AppendLine();
        }

        return output.ToString();
    }

    /// <summary>The steps of a script: comment lines and command lines; expected output is skipped.</summary>
    private static IEnumerable<string> ParseSteps(string script)
    {
        var lines = script.Replace("\r\n", "\n").Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd();
            if (line.Length == 0)
            {
                continue;
            }

            if (line.StartsWith('#'))
            {
                yield return line;
                continue;
            }

            yield return line;
            if (i + 1 < lines.Length && lines[i + 1].TrimEnd() == "----")
            {
                i++;
                while (i + 1 < lines.Length && lines[i + 1].TrimEnd().Length != 0)
                {
                    i++;
                }
            }
        }
    }

    private static ScriptedCluster Execute(ScriptedCluster? cluster, string step, out string trace)
    {
        var words = step.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words[0] == "cluster")
        {
            // "cluster N", or "cluster N batch=K" for slots of at most K commands.
            var batch = words.Skip(2).FirstOrDefault(w => w.StartsWith("batch=", StringComparison.Ordinal));
            var created = new ScriptedCluster(int.Parse(words[1]), batch is null ? null : int.Parse(batch["batch=".Length..]));
            trace = created.TakeOutput();
            return created;
        }

        var c = cluster ?? throw new InvalidOperationException("the script must start with 'cluster N'");
        var args = words.Skip(1).ToArray();
        switch (words[0])
        {
            case "tick":
                c.Tick(Ids(args[0], c), args.Length > 1 ? int.Parse(args[1]) : 1);
                break;
            case "run":
                c.Run(args.Length > 1 ? Ids(args[1], c) : Ids("all", c), int.Parse(args[0]));
                break;
            case "propose":
                c.Propose(int.Parse(args[0]), string.Join(' ', args.Skip(1)));
                break;
            case "propose-many":
                c.ProposeMany(int.Parse(args[0]), args.Skip(1).Select(a => a.Replace('=', ' ')));
                break;
            case "read":
                c.Read(int.Parse(args[0]), long.Parse(args[1]));
                break;
            case "deliver":
                c.Deliver(args.Contains("verbose"), Filter(args));
                break;
            case "drop":
                var filter = Filter(args) ?? (_ => true);
                var dropped = c.InFlight.Where(filter).ToList();
                foreach (var message in dropped)
                {
                    ((List<Message>)c.InFlight).Remove(message);
                }

                trace = $"dropped {dropped.Count} message(s)\n";
                return c;
            case "partition":
                c.Partition([.. args[0].Split('|').Select(side => side.Split(',').Select(int.Parse).ToArray())]);
                break;
            case "heal":
                c.Heal();
                break;
            case "crash":
                c.Crash(int.Parse(args[0]));
                break;
            case "restart":
                c.Start(int.Parse(args[0]));
                break;
            case "status":
                trace = c.TakeOutput() + c.Status();
                return c;
            default:
                throw new InvalidOperationException($"unknown step '{words[0]}'");
        }

        trace = c.TakeOutput();
        return c;
    }

    private static IEnumerable<int> Ids(string text, ScriptedCluster cluster) =>
        text == "all" ? Enumerable.Range(1, 15).Where(id => TryReplica(cluster, id)) : text.Split(',').Select(int.Parse);

    private static bool TryReplica(ScriptedCluster cluster, int id)
    {
        try
        {
            _ = cluster.Replica(id);
            return true;
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>type=Accept,Accepted from=5 to=3,4: which in-flight messages a deliver or drop step touches.</summary>
    private static Func<Message, bool>? Filter(string[] args)
    {
        string[]? types = null;
        int[]? from = null;
        int[]? to = null;
        foreach (var arg in args)
        {
            var parts = arg.Split('=');
            if (parts.Length != 2)
            {
                continue;
            }

            switch (parts[0])
            {
                case "type": types = parts[1].Split(','); break;
                case "from": from = [.. parts[1].Split(',').Select(int.Parse)]; break;
                case "to": to = [.. parts[1].Split(',').Select(int.Parse)]; break;
                default: throw new FormatException($"unknown filter '{parts[0]}'");
            }
        }

        if (types is null && from is null && to is null)
        {
            return null;
        }

        return m => (types is null || types.Contains(m.GetType().Name)) && (from is null || from.Contains(m.From)) && (to is null || to.Contains(m.To));
    }
}
