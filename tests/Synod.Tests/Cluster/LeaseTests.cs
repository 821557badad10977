using System.Diagnostics;
using System.Text.Json;
using Synod.Cli;
using Synod.Client;
using Synod.Client.Coordination;
using Xunit.Abstractions;

namespace Synod.Tests.Cluster;

/// <summary>
/// Leases as a user meets them, on real replica processes: a lease kept alive survives the killing of one leader after
/// another and its key never disappears; a lock whose holder's process is killed passes on once its lease runs out;
/// the CLI's lease commands, exit codes and JSON.
/// </summary>
[Collection(RealClusterCollection.Name)]
public sealed class LeaseTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [SoakFact]
    [Trait("Category", "Soak")]
    public async Task A_lease_kept_alive_outlives_five_leader_kills_and_its_key_never_disappears()
    {
        await using var cluster = new ReplicaProcesses(3);
        await cluster.WaitForLeaderAsync(Patience);
        await using var client = new SynodClient(new SynodClientOptions { Endpoints = cluster.EndpointList, OperationTimeout = TimeSpan.FromSeconds(20) });
        await using var session = await client.CreateSessionAsync(ttlSeconds: 5);
        await session.PutAsync("svc/me", "alive");

        // A reader checks the key all along: a read may fail during an election, but it must never find the key gone.
        using var stop = new CancellationTokenSource();
        var reads = 0;
        var missing = 0;
        var reading = Task.Run(async () =>
        {
            await using var reader = new SynodClient(new SynodClientOptions { Endpoints = cluster.EndpointList, OperationTimeout = TimeSpan.FromSeconds(2) });
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await reader.GetAsync("svc/me", cancellationToken: stop.Token);
                    reads++;
                }
                catch (SynodNotFoundException)
                {
                    missing++;
                }
                catch (Exception e) when (e is SynodException or OperationCanceledException)
                {
                }

                await Task.Delay(50, CancellationToken.None);
            }
        });

        var killed = new List<int>();
        for (var round = 0; round < 5; round++)
        {
            var leader = await cluster.WaitForLeaderAsync(Patience);
            cluster.Kill(leader);
            killed.Add(leader);
            await cluster.WaitForLeaderAsync(Patience, cluster.Endpoints.Keys.Where(id => id != leader));
            cluster.Start(leader);

            // Longer than the TTL between kills, so that the lease lives on keep-alives the new leader answered.
            await Task.Delay(TimeSpan.FromSeconds(6));
        }

        await stop.CancelAsync();
        await reading;
        output.WriteLine($"leaders killed: {string.Join(", ", killed)}; reads that found the key: {reads}");
        Assert.Equal(0, missing);
        Assert.True(reads > 20, $"only {reads} reads found the key");
        Assert.False(session.IsLost, session.LostReason);
        Assert.True(await client.KeepAliveOnceAsync(session.LeaseId) > 0);
        Assert.Equal("alive", (await client.GetAsync("svc/me")).ValueAsString());
    }

    [Fact]
    public async Task A_lock_passes_on_within_its_ttl_and_an_election_timeout_once_its_holders_process_is_killed()
    {
        await using var cluster = new ReplicaProcesses(3);
        await cluster.WaitForLeaderAsync(Patience);
        var endpoints = string.Join(",", cluster.EndpointList);
        const int Ttl = 3;

        // The holder is a real `synod lock` process running a command that never ends by itself.
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "synod.dll"), "lock", "jobs", "--ttl", $"{Ttl}", "--json", "--endpoints", endpoints, "--", "sleep", "120" })
        {
            start.ArgumentList.Add(arg);
        }

        using var holder = Process.Start(start)!;
        var line = await holder.StandardOutput.ReadLineAsync().WaitAsync(Patience);
        var first = JsonDocument.Parse(line!).RootElement.GetProperty("token").GetInt64();

        await using var client = new SynodClient(new SynodClientOptions { Endpoints = cluster.EndpointList });
        await using var session = await client.CreateSessionAsync(Ttl);
        var waiting = new SynodMutex(session, "jobs").LockAsync();
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.False(waiting.IsCompleted, "a second contender took the lock while the first held it");

        var killedAt = Stopwatch.StartNew();
        holder.Kill(entireProcessTree: true);
        var token = await waiting.WaitAsync(Patience);
        var passedAfter = killedAt.Elapsed;

        output.WriteLine($"the lock passed on {passedAfter.TotalSeconds:0.00} s after its holder was killed (TTL {Ttl} s); tokens {first} then {token.Token}");
        Assert.True(token.Token > first, $"token {token.Token} is not above the killed holder's {first}");

        // TTL + an election timeout (at most 1.1 s here) + the leader's deadline check and the watch's way back: the
        // bound the design promises, with a margin for a loaded machine.
        Assert.True(passedAfter < TimeSpan.FromSeconds(Ttl + 1.1 + 3), $"the lock passed on only after {passedAfter.TotalSeconds:0.00} s");

        // The killed holder's token no longer writes; the new one does.
        Assert.True(await token.PutIfHeldAsync("jobs-output", "written by the second holder"));
        var stale = new SynodLockToken(session, $"jobs/{first:x16}", first);
        Assert.False(await stale.PutIfHeldAsync("jobs-output", "a late write by the first holder"));
    }

    [Fact]
    public async Task The_lease_commands_grant_attach_query_list_revoke_and_exit_with_the_usual_codes()
    {
        await using var cluster = new ReplicaProcesses(3);
        await cluster.WaitForLeaderAsync(Patience);
        var endpoints = string.Join(",", cluster.EndpointList);

        var tooShort = await Cli("lease", "grant", "1", "--endpoints", endpoints);
        Assert.Equal(ExitCodes.InvalidInput, tooShort.ExitCode);
        Assert.Contains("must lie in 3..", tooShort.Stderr, StringComparison.Ordinal);

        var grant = await Cli("lease", "grant", "30", "--json", "--endpoints", endpoints);
        Assert.Equal(ExitCodes.Ok, grant.ExitCode);
        var granted = JsonDocument.Parse(grant.Stdout).RootElement;
        var id = granted.GetProperty("id").GetInt64();
        Assert.Equal(30, granted.GetProperty("ttl").GetInt64());

        Assert.Equal(ExitCodes.Ok, (await Cli("put", "eph/a", "1", "--lease", $"{id}", "--endpoints", endpoints)).ExitCode);
        var ttl = await Cli("lease", "ttl", $"{id}", "--keys", "--json", "--endpoints", endpoints);
        var query = JsonDocument.Parse(ttl.Stdout).RootElement;
        Assert.InRange(query.GetProperty("ttl").GetInt64(), 1, 30);
        Assert.Equal(["eph/a"], query.GetProperty("keys").EnumerateArray().Select(k => k.GetString()));
        Assert.Contains($"{id}", (await Cli("lease", "list", "--endpoints", endpoints)).Stdout, StringComparison.Ordinal);
        var status = JsonDocument.Parse((await Cli("status", "--json", "--endpoints", endpoints)).Stdout).RootElement;
        Assert.Contains(status.EnumerateArray(), replica => replica.GetProperty("leases").GetUInt64() == 1);
        Assert.Equal(ExitCodes.Ok, (await Cli("lease", "keepalive", $"{id}", "--once", "--endpoints", endpoints)).ExitCode);

        Assert.Equal(ExitCodes.Ok, (await Cli("lease", "revoke", $"{id}", "--endpoints", endpoints)).ExitCode);
        Assert.Equal(ExitCodes.NotFound, (await Cli("get", "eph/a", "--endpoints", endpoints)).ExitCode);
        var gone = await Cli("put", "eph/b", "1", "--lease", $"{id}", "--endpoints", endpoints);
        Assert.Equal(ExitCodes.NotFound, gone.ExitCode);
        Assert.Contains($"lease {id} does not exist", gone.Stderr, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.NotFound, (await Cli("lease", "revoke", $"{id}", "--endpoints", endpoints)).ExitCode);
        Assert.Equal(ExitCodes.NotFound, (await Cli("lease", "ttl", $"{id}", "--endpoints", endpoints)).ExitCode);
        Assert.Equal(ExitCodes.NotFound, (await Cli("lease", "keepalive", $"{id}", "--endpoints", endpoints)).ExitCode);
    }

    private static Task<(int ExitCode, string Stdout, string Stderr)> Cli(params string[] args) => CliExitCodeTests.RunAsync(args);
}
