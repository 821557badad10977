using System.CommandLine;
using System.CommandLine.Parsing;

namespace Synod.Cli;

/// <summary>
/// What is wrong with a command line, in one sentence, before any command runs: every subcommand then fails the same
/// way, exit code 2 and one line on stderr, instead of a parse error followed by the whole help text.
/// </summary>
public static class CommandLineErrors
{
    /// <summary>Null if the command line parsed; otherwise one line naming the problem and where the options are listed.</summary>
    public static string? Describe(ParseResult parsed)
    {
        ArgumentNullException.ThrowIfNull(parsed);
        var command = "synod" + string.Concat(CommandPath(parsed.CommandResult).Select(name => " " + name));

        // An unknown "--flag" where an argument may stand is taken as the argument (a key named "--bogus"); refuse it,
        // as etcdctl does, unless it follows a "--" separator.
        foreach (var token in parsed.Tokens)
        {
            if (token.Type == TokenType.DoubleDash)
            {
                break;
            }

            if (token.Type == TokenType.Argument && token.Value.Length > 2 && token.Value.StartsWith("--", StringComparison.Ordinal))
            {
                return $"'{command}' has no option '{token.Value}'; '{command} --help' lists the options (a key or value that starts with '--' goes after a '--' separator).";
            }
        }

        if (parsed.Errors.Count > 0)
        {
            // "Unrecognized command or argument 'x'" says more than the "Required command was not provided" that comes with it.
            var error = parsed.Errors.FirstOrDefault(e => e.Message.StartsWith("Unrecognized", StringComparison.Ordinal)) ?? parsed.Errors[0];
            var message = string.Join(" ", error.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            return $"{message.TrimEnd('.')}; '{command} --help' lists the options.";
        }

        return null;
    }

    private static IEnumerable<string> CommandPath(CommandResult result)
    {
        var names = new Stack<string>();
        for (SymbolResult? current = result; current is CommandResult command && command.Command is not RootCommand; current = current.Parent)
        {
            names.Push(command.Command.Name);
        }

        return names;
    }
}
