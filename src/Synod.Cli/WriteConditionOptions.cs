using System.CommandLine;
using System.Text;
using Synod.Client;

namespace Synod.Cli;

/// <summary>The --if-... flags of put and delete: at most one, turned into the write's <see cref="SynodCompare"/>.</summary>
internal sealed class WriteConditionOptions(bool withAbsent)
{
    private readonly Option<bool> _absent = new("--if-absent") { Description = "Only if KEY does not exist (version 0)." };
    private readonly Option<string?> _value = new("--if-value") { Description = "Only if KEY exists with this value (UTF-8)." };
    private readonly Option<long?> _version = new("--if-version") { Description = "Only if KEY's version (writes since created) is N; 0 means absent." };
    private readonly Option<long?> _modRevision = new("--if-mod-revision") { Description = "Only if KEY was last written at revision N (get --json shows it); 0 means absent." };

    public void AddTo(Command command)
    {
        if (withAbsent)
        {
            command.Options.Add(_absent);
        }

        command.Options.Add(_value);
        command.Options.Add(_version);
        command.Options.Add(_modRevision);
    }

    /// <summary>The condition given, or null; more than one is <see cref="ClientInputException"/>.</summary>
    public SynodCompare? Parse(ParseResult parse)
    {
        var given = new List<(string Flag, SynodCompare Compare)>();
        if (withAbsent && parse.GetValue(_absent))
        {
            given.Add(("--if-absent", SynodCompare.Absent));
        }

        if (parse.GetValue(_value) is { } value)
        {
            given.Add(("--if-value", SynodCompare.ValueIs(Encoding.UTF8.GetBytes(value))));
        }

        if (parse.GetValue(_version) is { } version)
        {
            given.Add(("--if-version", SynodCompare.VersionIs(version)));
        }

        if (parse.GetValue(_modRevision) is { } revision)
        {
            given.Add(("--if-mod-revision", SynodCompare.ModRevisionIs(revision)));
        }

        return given.Count switch
        {
            0 => null,
            1 => given[0].Compare,
            _ => throw new ClientInputException($"give at most one condition, not {string.Join(" and ", given.Select(g => g.Flag))}."),
        };
    }

    /// <summary>"the compare failed: KEY is at version V, mod revision M" (or "is absent"), for stderr.</summary>
    public static string FailedLine(string key, long version, long modRevision, long revision) => ClientErrors.Line(version == 0
        ? $"compare failed: {key} is absent (revision {revision}); nothing was written."
        : $"compare failed: {key} is at version {version}, mod revision {modRevision} (revision {revision}); nothing was written.");
}
