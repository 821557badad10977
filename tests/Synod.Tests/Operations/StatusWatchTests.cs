using System.Diagnostics;
using System.Text.Json;
using Synod.Chaos;
using Synod.Cli;
using Synod.Tests.Cluster;

namespace Synod.Tests.Operations;

/// <summary>Issue 19, item 5: `synod status --watch` reports again every second until it is stopped, and then exits 0.</summary>
[Collection(RealClusterCollection.Name)]
public sealed class StatusWatchTests
{
    [Fact]
    public async Task Status_watch_reports_every_second_until_stopped_and_then_exits_0()
    {
        await using var cluster = new ReplicaProcesses(1);
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "synod.dll"), "status", "--watch", "--json", "--endpoints", cluster.EndpointList[0] })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            // Three rounds, each one JSON array on its line with the replica up.
            for (var round = 0; round < 3; round++)
            {
                var line = await process.StandardOutput.ReadLineAsync(limit.Token);
                Assert.NotNull(line);
                var rows = JsonDocument.Parse(line).RootElement;
                Assert.True(rows[0].GetProperty("up").GetBoolean(), line);
            }

            Assert.True(ProcessSignals.Terminate(process.Id));
            await process.WaitForExitAsync(limit.Token);
            Assert.Equal(ExitCodes.Ok, process.ExitCode);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }
}
