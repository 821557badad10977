using Synod.Cli;

namespace Synod.Tests.Cluster;

/// <summary>
/// A command line that does not parse fails the same way in every subcommand: exit code 2 (invalid input) and one
/// "error:" line on stderr naming what was wrong and where the options are listed, with nothing on stdout.
/// </summary>
public sealed class CliParseErrorTests
{
    [Theory]
    [InlineData("put", "--bogus-flag", "no option '--bogus-flag'")]
    [InlineData("get", "--bogus-flag", "no option '--bogus-flag'")]
    [InlineData("delete", "--bogus-flag", "no option '--bogus-flag'")]
    [InlineData("status", "--bogus-flag", "--bogus-flag")]
    [InlineData("cluster", "--bogus-flag", "--bogus-flag")]
    [InlineData("serve", "--bogus-flag", "--bogus-flag")]
    [InlineData("certs", "--bogus-flag", "--bogus-flag")]
    [InlineData("chaos", "--bogus-flag", "--bogus-flag")]
    [InlineData("bench", "--bogus-flag", "--bogus-flag")]
    [InlineData("bench-wal", "--bogus-flag", "--bogus-flag")]
    [InlineData("check", "--bogus-flag", "--bogus-flag")]
    [InlineData("get", "--timeout", "--timeout")]
    [InlineData("no-such-command", "", "no-such-command")]
    public async Task A_flag_parse_error_exits_2_with_one_line(string command, string flag, string mentions)
    {
        var run = await CliExitCodeTests.RunAsync([.. new[] { command, flag }.Where(a => a.Length > 0)]);

        var line = OneErrorLine(run, mentions);
        Assert.Contains("--help' lists the options", line, StringComparison.Ordinal);
        Assert.Equal("", run.Stdout);
    }

    [Fact]
    public async Task A_key_that_starts_with_dashes_goes_after_a_double_dash_and_help_still_exits_0()
    {
        // After "--" the key is taken as it is: the command then fails only because nothing listens there.
        var run = await CliExitCodeTests.RunAsync("get", "--endpoints", "127.0.0.1:1", "--timeout", "1", "--", "--weird-key");
        var help = await CliExitCodeTests.RunAsync("put", "--help");

        Assert.Equal(ExitCodes.Unreachable, run.ExitCode);
        Assert.Equal(ExitCodes.Ok, help.ExitCode);
        Assert.Contains("Usage", help.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--tls-cert", "/nonexistent/replica-1.pem", "give --tls-cert and --tls-key together")]
    [InlineData("--tls-client-ca", "/nonexistent/ca.pem", "--tls-client-ca needs --tls-cert and --tls-key")]
    [InlineData("--peer-routes", "2=nowhere", "replica 2's route in --peer-routes")]
    [InlineData("--peer-routes", "1=127.0.0.1:9", "--peer-routes names replica 1")]
    [InlineData("--peer-routes", "2=127.0.0.1:9,2=127.0.0.1:10", "replica 2 is routed twice")]
    [InlineData("--preferred-leader-window", "soon", "--preferred-leader-window soon: expected a duration")]
    [InlineData("--preferred-leader", "largest", "--preferred-leader largest: expected largest-id, none or a replica id")]
    public async Task A_bad_tls_route_or_preferred_leader_setting_for_serve_exits_2_naming_it(string flag, string value, string mentions)
    {
        var data = Path.Combine(Path.GetTempPath(), $"synod-serve-flags-{Guid.NewGuid():N}");
        try
        {
            var run = await CliExitCodeTests.RunAsync("serve", "--id", "1", "--peers", "1=127.0.0.1:1,2=127.0.0.1:2,3=127.0.0.1:3", "--insecure-peers", "--data-dir", data, flag, value);

            OneErrorLine(run, mentions);
        }
        finally
        {
            if (Directory.Exists(data))
            {
                Directory.Delete(data, recursive: true);
            }
        }
    }

    /// <summary>Asserts exit 2 and one "error:" line on stderr that mentions <paramref name="mentions"/>; returns the line.</summary>
    private static string OneErrorLine((int ExitCode, string Stdout, string Stderr) run, string mentions)
    {
        var lines = run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(run.ExitCode == ExitCodes.InvalidInput, $"exit code {run.ExitCode}; stderr: {run.Stderr}");
        Assert.True(lines.Length == 1 && lines[0].StartsWith("error: ", StringComparison.Ordinal), $"stderr should be one 'error:' line: {run.Stderr}");
        Assert.Contains(mentions, lines[0], StringComparison.Ordinal);
        return lines[0];
    }
}
