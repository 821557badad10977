using System.Text;

namespace Synod.Cli;

/// <summary>A client command's --user NAME[:PASSWORD], as etcdctl takes it: without a password, it is asked for.</summary>
internal static class UserFlag
{
    /// <summary>The longest password file read, in bytes: a password of PasswordBytesMax (1,024) and a line end, with room to spare.</summary>
    public const int PasswordFileBytesMax = 4096;

    /// <summary>The name and password; (null, null) without --user. The password comes from the flag, <paramref name="passwordFile"/>'s first line, or the terminal.</summary>
    /// <exception cref="ClientInputException">An empty name, a password given twice, an unreadable or oversized file, or no password with stdin not a terminal to ask on.</exception>
    public static (string? Name, string? Password) Parse(string? flag, string? passwordFile = null)
    {
        if (flag is null)
        {
            return passwordFile is null ? (null, null) : throw new ClientInputException("--password-file is the password of --user NAME; give --user too.");
        }

        var colon = flag.IndexOf(':', StringComparison.Ordinal);
        var name = colon < 0 ? flag : flag[..colon];
        if (name.Length == 0)
        {
            throw new ClientInputException($"--user '{flag}' names no user; give --user NAME or --user NAME:PASSWORD.");
        }

        if (passwordFile is not null)
        {
            return colon >= 0
                ? throw new ClientInputException("--user NAME:PASSWORD and --password-file both give a password; give one of them.")
                : (name, ReadPasswordFile(passwordFile));
        }

        return colon >= 0 ? (name, flag[(colon + 1)..]) : (name, Ask($"Password of {name}: "));
    }

    /// <summary>The first line of <paramref name="path"/>, without its line end.</summary>
    private static string ReadPasswordFile(string path)
    {
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                throw new ClientInputException($"--password-file {path}: no such file.");
            }

            if (info.Length > PasswordFileBytesMax)
            {
                throw new ClientInputException($"--password-file {path} is {info.Length} bytes, over {PasswordFileBytesMax} (PasswordFileBytesMax); it should hold the password on its first line.");
            }

            using var reader = new StreamReader(path, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true));
            return reader.ReadLine() ?? throw new ClientInputException($"--password-file {path} is empty; put the password on its first line.");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or DecoderFallbackException)
        {
            throw new ClientInputException($"--password-file {path} cannot be read: {e.Message}", e);
        }
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
