using Microsoft.Playwright;
using Synod.Client;
using Synod.Tests.Cluster;
using static Microsoft.Playwright.Assertions;

namespace Synod.Tests.Operations;

/// <summary>
/// Issue 19, the web dashboard, in a real browser: Playwright for .NET driving Debian's Chromium against five real
/// replica processes. The page served by one replica shows all five up and the one leader; the key browser lists a
/// prefix and shows a key's value change without being asked again; and when the leader's process is killed, the same
/// page, never reloaded, shows it down and another replica leading.
/// </summary>
[Collection(RealClusterCollection.Name)]
public sealed class DashboardBrowserTests
{
    private static readonly TimeSpan StartupLimit = TimeSpan.FromSeconds(30);

    /// <summary>How long the page may take to show a change: it is pushed once a second, and a new leader takes an election.</summary>
    private const float ShowsWithinMs = 15_000;

    /// <summary>Where the screenshot goes (the README shows one): next to the test assembly.</summary>
    public static string ScreenshotPath => Path.Combine(AppContext.BaseDirectory, "dashboard.png");

    [ChromiumFact]
    public async Task The_dashboard_shows_five_replicas_and_the_leader_and_then_the_new_leader_without_a_reload()
    {
        var endpoints = ReplicaProcesses.NewEndpoints(5);
        var http = ReplicaProcesses.NewEndpoints(5);
        var peers = string.Join(",", endpoints.Select(e => $"{e.Key}={e.Value}"));
        await using var cluster = new ReplicaProcesses(endpoints, id => ["--peers", peers, "--http", http[id]]);
        var leader = await cluster.WaitForLeaderAsync(StartupLimit);
        // A smaller id may win the first election; the largest then takes over once ready (the preferred leader).
        await Eventually.WithinAsync(async () => (await cluster.StatusAsync(5))?.Role == "leader", StartupLimit, TimeSpan.FromMilliseconds(100));
        leader = 5;
        await cluster.WaitForAllServingAsync(StartupLimit);
        var watcher = leader == 1 ? 2 : 1;
        await using var client = new SynodClient(new SynodClientOptions { Endpoints = [.. endpoints.Values], OperationTimeout = TimeSpan.FromSeconds(20) });
        await client.PutAsync("dash/greeting", "hello");
        await client.PutAsync("dash/other", "x");

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumFactAttribute.Executable,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1000 } });
        // The page works offline: everything it asks for comes from the replica that served it.
        var elsewhere = new List<string>();
        page.Request += (_, request) =>
        {
            if (!request.Url.StartsWith($"http://{http[watcher]}/", StringComparison.Ordinal) && !request.Url.StartsWith("data:", StringComparison.Ordinal))
            {
                elsewhere.Add(request.Url);
            }
        };
        await page.GotoAsync($"http://{http[watcher]}/");

        // The cluster at a glance: five rows, all up, one leader, named in the header.
        var rows = page.Locator("#replicas tbody tr");
        await Expect(rows).ToHaveCountAsync(5, new() { Timeout = ShowsWithinMs });
        await Expect(page.Locator("#replicas tbody tr[data-up='true']")).ToHaveCountAsync(5, new() { Timeout = ShowsWithinMs });
        await Expect(page.Locator("#replicas tbody tr[data-role='leader']")).ToHaveCountAsync(1, new() { Timeout = ShowsWithinMs });
        await Expect(page.Locator($"#replicas tbody tr[data-replica='{leader}']")).ToHaveAttributeAsync("data-role", "leader", new() { Timeout = ShowsWithinMs });
        await Expect(page.Locator("#leader")).ToHaveTextAsync($"replica {leader} leads");
        await Expect(page.Locator("#conn")).ToHaveTextAsync("live");

        // The key browser: list the prefix, open a key, and see its new value arrive while the page stays as it is.
        await page.FillAsync("#prefix", "dash/");
        await page.ClickAsync("#list");
        await Expect(page.Locator("#keys li")).ToHaveCountAsync(2, new() { Timeout = ShowsWithinMs });
        await page.ClickAsync("#keys li[data-key='dash/greeting']");
        await Expect(page.Locator("#key-value")).ToHaveTextAsync("hello", new() { Timeout = ShowsWithinMs });
        await client.PutAsync("dash/greeting", "hello again");
        await Expect(page.Locator("#key-value")).ToHaveTextAsync("hello again", new() { Timeout = ShowsWithinMs });

        // A mark in the page's own memory: a reload would lose it.
        await page.EvaluateAsync("() => { window.synodTestMark = 42; }");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ScreenshotPath, FullPage = true });

        cluster.Kill(leader);
        await Expect(page.Locator($"#replicas tbody tr[data-replica='{leader}']")).ToHaveAttributeAsync("data-up", "false", new() { Timeout = ShowsWithinMs });
        await Expect(page.Locator("#replicas tbody tr[data-role='leader']")).ToHaveCountAsync(1, new() { Timeout = ShowsWithinMs });
        var next = int.Parse(await page.Locator("#replicas tbody tr[data-role='leader']").GetAttributeAsync("data-replica") ?? "0", System.Globalization.CultureInfo.InvariantCulture);
        Assert.NotEqual(leader, next);
        Assert.InRange(next, 1, 5);
        await Expect(page.Locator("#leader")).ToHaveTextAsync($"replica {next} leads", new() { Timeout = ShowsWithinMs });
        await Expect(page.Locator("#timeline li[data-kind='down']")).ToContainTextAsync($"replica {leader} is down");
        await Expect(page.Locator("#timeline li[data-kind='leader']").First).ToContainTextAsync($"{next}", new() { Timeout = ShowsWithinMs });
        Assert.Equal(42, await page.EvaluateAsync<int>("() => window.synodTestMark"));
        Assert.Empty(elsewhere);
    }
}
