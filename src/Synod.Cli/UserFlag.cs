using System.Text;

namespace Synod.Cli;

/// <summary>A client command's --user NAME[:PASSWORD], as etcdctl takes it: without a password, it is asked for.</summary>
internal static class UserFlag
{
    /// <summary>The name and password; (null, null) without --user.</summary>
    /// <exception cref="ClientInputException">An empty name, or no password with stdin not a terminal to ask on.</exception>
    public static (string? Name, string? Password) Parse(string? flag)
    {
        if (flag is null)
        {
            return (null, null);
        }

        var colon = flag.IndexOf(':', StringComparison.Ordinal);
        var name = colon < 0 ? flag : flag[..colon];
        if (name.Length == 0)
        {
            throw new ClientInputException($"--user '{flag}' names no user; give --user NAME or --user NAME:PASSWORD.");
        }

        return colon >= 0 ? (name, flag[(colon + 1)..]) : (name, Ask($"Password of {name}: "));
    }

    /// <summary>Reads a password from the terminal without echoing it.</summary>
    public static string Ask(string prompt)
    {
        if (Console.IsInputRedirected)
        {
            throw new ClientInputException("no password given and stdin is not a terminal to ask on; give --user NAME:PASSWORD (or --password for user add and passwd).");
        }

        Console.Error.Write(prompt);
        var password = new StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
            {
                Console.Error.WriteLine();
                return password.ToString();
            }

            if (key.Key == ConsoleKey.Backspace)
            {
                password.Length = Math.Max(0, password.Length - 1);
            }
            else if (!char.IsControl(key.KeyChar))
            {
                password.Append(key.KeyChar);
            }
        }
    }
}
