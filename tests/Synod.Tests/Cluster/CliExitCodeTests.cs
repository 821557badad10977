using System.Diagnostics;
using Synod.Cli;

namespace Synod.Tests.Cluster;

/// <summary>The `synod` commands as a user runs them: real processes, exit codes and one clear line on stderr.</summary>
[Collection(RealClusterCollection.Name)]
public sealed class CliExitCodeTests
{
    [Fact]
    public async Task Each_kind_of_failure_has_its_own_exit_code_and_one_line_on_stderr()
    {
        // A write quota of 2,000 bytes, so that one put can pass it.
        await using var cluster = new ReplicaProcesses(3, "--quota-bytes", "2000");
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        var endpoints = string.Join(",", cluster.EndpointList);

        var put = await RunAsync("put", "colour", "blue", "--endpoints", endpoints, "--node", "1");
        Assert.Equal(ExitCodes.Ok, put.ExitCode);
        var get = await RunAsync("get", "colour", "--endpoints", endpoints, "--node", "3");
        Assert.Equal((ExitCodes.Ok, "blue"), (get.ExitCode, get.Stdout.Trim()));

        AssertFailure(await RunAsync("get", "nothing-here", "--endpoints", endpoints), ExitCodes.NotFound, "not found");
        AssertFailure(await RunAsync("put", new string('k', 1025), "v", "--endpoints", endpoints), ExitCodes.InvalidInput, "KeyBytesMax");
        AssertFailure(await RunAsync("put", "", "v", "--endpoints", endpoints), ExitCodes.InvalidInput, "empty");

        AssertFailure(await RunAsync("put", "big", new string('v', 3_000), "--endpoints", endpoints), ExitCodes.NoSpace, "database space exceeded");
        var status = await RunAsync("status", "--endpoints", endpoints, "--json");
        Assert.Contains("\"quotaBytes\": 2000", status.Stdout, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Ok, (await RunAsync("put", "small", "fits", "--endpoints", endpoints)).ExitCode);

        cluster.Kill(2);
        AssertFailure(await RunAsync("get", "colour", "--endpoints", endpoints, "--node", "2", "--timeout", "2"), ExitCodes.Unreachable, "");
        cluster.Kill(3);
        AssertFailure(await RunAsync("put", "colour", "red", "--endpoints", endpoints, "--timeout", "4"), ExitCodes.Unavailable, "no quorum");
    }

    /// <summary>A failed command: the exit code, one "error: " line on stderr, and the line mentions <paramref name="mentions"/>.</summary>
    internal static void AssertFailure((int ExitCode, string Stdout, string Stderr) run, int exitCode, string mentions)
    {
        var lines = run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(run.ExitCode == exitCode, $"exit code {run.ExitCode}, expected {exitCode}; stderr: {run.Stderr}");
        Assert.True(lines.Length == 1 && lines[0].StartsWith("error: ", StringComparison.Ordinal), $"stderr should be one 'error:' line: {run.Stderr}");
        Assert.Contains(mentions, lines[0], StringComparison.OrdinalIgnoreCase);
    }

    internal static Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] args) => RunAsync(TimeSpan.FromSeconds(60), args);

    /// <summary>Runs synod with <paramref name="args"/>, killing it after <paramref name="limit"/> (give a command that waits on its own longer than its own wait).</summary>
    internal static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(TimeSpan limit, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "synod.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            // A command that should have ended did not (a start that should have been refused is serving): stop it.
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await stdout, await stderr);
    }
}
