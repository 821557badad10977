using Synod.Client;

namespace Synod.Cli;

/// <summary>
/// Turns a failure of a client command into its exit code and the one line printed on stderr, so a script can
/// tell the kinds apart by exit code and a person by the sentence.
/// </summary>
public static class ClientErrors
{
    public const string Prefix = "error: ";

    /// <summary>The exit code for <paramref name="exception"/>; see <see cref="ExitCodes"/>.</summary>
    public static int ExitCode(Exception exception) => exception switch
    {
        ClientInputException or SynodInvalidArgumentException => ExitCodes.InvalidInput,
        SynodNotFoundException or SynodCompactedException or SynodLeaseNotFoundException => ExitCodes.NotFound,
        SynodPermissionDeniedException => ExitCodes.PermissionDenied,
        // Refused for space after an earlier attempt went unanswered: the outcome is unknown, as exit code 4 says.
        SynodNoSpaceException { OutcomeUnknown: true } => ExitCodes.Unavailable,
        SynodNoSpaceException => ExitCodes.NoSpace,

        // Unreachable derives from Unavailable, so it must be matched first.
        SynodUnreachableException => ExitCodes.Unreachable,
        SynodUnavailableException => ExitCodes.Unavailable,
        _ => ExitCodes.Failure,
    };

    /// <summary>"error: " and the message as one line, starting lower-case after the prefix.</summary>
    public static string Line(string message)
    {
        var oneLine = string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        return Prefix + LowerFirst(oneLine);
    }

    /// <summary>The line for <paramref name="exception"/>; a cancellation says that a write's outcome is unknown.</summary>
    public static string Line(Exception exception) => exception switch
    {
        OperationCanceledException => Line("cancelled before an answer; for a write the outcome is unknown."),
        _ => Line(exception.Message),
    };

    /// <summary>Lower-cases a leading capital ("The key ..." → "the key ...") but keeps names like "KeyBytesMax" or "OK".</summary>
    private static string LowerFirst(string text)
    {
        var wordEnd = text.IndexOfAny([' ', ',', ';', ':', '.']);
        var word = wordEnd < 0 ? text : text[..wordEnd];
        var ordinaryWord = word.Length >= 2 && char.IsUpper(word[0]) && word.Skip(1).All(char.IsLower);
        return ordinaryWord ? char.ToLowerInvariant(text[0]) + text[1..] : text;
    }
}
