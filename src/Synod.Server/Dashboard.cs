using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Synod.Driver;
using Synod.Kv;
using Synod.Protocol;

namespace Synod.Server;

/// <summary>
/// The web dashboard on the operator's HTTP endpoint (`serve --http`, docs/operations.md, "Dashboard"): one page with
/// no external assets (/), the cluster as this replica gathers it (/api/cluster, and once a second as server-sent events
/// on /api/events), and a key browser (/api/keys, /api/key) while authentication is off. This replica asks every
/// member for its status over the client port once a second, only while someone watches; a member that does not answer
/// within <see cref="MemberTimeoutMs"/> is shown down. Elections and leader changes it sees go into a timeline.
/// </summary>
internal sealed class Dashboard : IAsyncDisposable
{
    /// <summary>How often the page's view is refreshed and pushed, in milliseconds.</summary>
    public const int RefreshMs = 1_000;

    /// <summary>How long a member may take to answer its status before it is shown down, in milliseconds.</summary>
    public const int MemberTimeoutMs = 500;

    /// <summary>The most event streams (open dashboard pages) at once; past it a page is refused with 503.</summary>
    public const int StreamsMax = 32;

    /// <summary>The most timeline entries kept; older ones are dropped.</summary>
    public const int TimelineMax = 200;

    /// <summary>The most keys one key-browser listing returns.</summary>
    public const int KeysListedMax = 1_000;

    /// <summary>The most value bytes the key browser shows of one key; the rest is cut, and the page says so.</summary>
    public const int ValueShownBytesMax = 64 * 1024;

    /// <summary>The longest a key-browser read waits, in milliseconds.</summary>
    private const int ReadTimeoutMs = 3_000;

    /// <summary>A view is gathered again only if the last is older than this, in milliseconds (several pages share one).</summary>
    private const int ViewReuseMs = RefreshMs / 2;

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private readonly ReplicaHost _host;
    private readonly ServerOptions _options;
    private readonly ConcurrentDictionary<int, (string Endpoint, GrpcChannel Channel)> _channels = new();
    private readonly SemaphoreSlim _gathering = new(1, 1);
    private readonly Lock _timelineGate = new();
    private readonly LinkedList<TimelineEntry> _timeline = new();
    private readonly Dictionary<int, bool> _lastUp = [];
    private int _lastLeader = -1;
    private string? _lastView;
    private long _lastViewAt = long.MinValue;
    private int _streams;

    public Dashboard(ReplicaHost host, ServerOptions options)
    {
        _host = host;
        _options = options;
        host.RoleChangedWithReason += (role, reason) => Note($"replica {options.Id} became {role}: {reason}", "role");
    }

    /// <summary>Serves the page and its API on the --http port only.</summary>
    public void Map(IEndpointRouteBuilder app, int port)
    {
        var host = $"*:{port}";
        app.MapGet("/", PageAsync).RequireHost(host);
        app.MapGet("/api/cluster", async context => await WriteJsonAsync(context, await ViewAsync(context.RequestAborted))).RequireHost(host);
        app.MapGet("/api/events", EventsAsync).RequireHost(host);
        app.MapGet("/api/keys", KeysAsync).RequireHost(host);
        app.MapGet("/api/key", KeyAsync).RequireHost(host);
    }

    private static async Task PageAsync(HttpContext context)
    {
        context.Response.ContentType = "text/html; charset=utf-8";
        context.Response.Headers.CacheControl = "no-cache";
        // Everything the page needs is in it: no script, style or font from anywhere else.
        context.Response.Headers.ContentSecurityPolicy = "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:";
        await using var page = typeof(Dashboard).Assembly.GetManifestResourceStream("Synod.Server.dashboard.html")
            ?? throw new InvalidOperationException("the dashboard page is missing from the build (Synod.Server.dashboard.html).");
        await page.CopyToAsync(context.Response.Body, context.RequestAborted);
    }

    private async Task EventsAsync(HttpContext context)
    {
        if (Interlocked.Increment(ref _streams) > StreamsMax)
        {
            Interlocked.Decrement(ref _streams);
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            await context.Response.WriteAsync($"{StreamsMax} dashboard pages are open at replica {_options.Id} already (Dashboard.StreamsMax); close one, or open another replica's.");
            return;
        }

        try
        {
            context.Response.ContentType = "text/event-stream";
            context.Response.Headers.CacheControl = "no-cache";
            var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _host.PeersClosing);
            using (stop)
            {
                while (!stop.IsCancellationRequested)
                {
                    var view = await ViewAsync(stop.Token);
                    await context.Response.WriteAsync($"data: {view}\n\n", stop.Token);
                    await context.Response.Body.FlushAsync(stop.Token);
                    await Task.Delay(RefreshMs, stop.Token);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The page closed, or the replica stops.
        }
        finally
        {
            Interlocked.Decrement(ref _streams);
        }
    }

    /// <summary>The cluster as JSON: gathered at most once per <see cref="ViewReuseMs"/>, however many pages ask.</summary>
    private async Task<string> ViewAsync(CancellationToken cancellation)
    {
        await _gathering.WaitAsync(cancellation);
        try
        {
            if (_lastView is { } recent && Environment.TickCount64 - _lastViewAt < ViewReuseMs)
            {
                return recent;
            }

            var view = JsonSerializer.Serialize(await GatherAsync(cancellation), Json);
            _lastView = view;
            _lastViewAt = Environment.TickCount64;
            return view;
        }
        finally
        {
            _gathering.Release();
        }
    }

    private async Task<ClusterView> GatherAsync(CancellationToken cancellation)
    {
        var members = await MembersAsync(cancellation);
        var rows = await Task.WhenAll(members.Select(m => RowAsync(m.Id, m.Endpoint, m.Voter, cancellation)));
        var leaders = rows.Where(r => r.Up && r.Role == "leader").Select(r => r.Id).ToList();
        // The leader is the one that says it leads; if two do (one has not yet heard of the other), the higher ballot's.
        var leader = rows.Where(r => r.Up && r.Role == "leader").OrderByDescending(r => r.BallotRound).Select(r => r.Id).FirstOrDefault();
        foreach (var row in rows)
        {
            if (_lastUp.TryGetValue(row.Id, out var wasUp) && wasUp != row.Up)
            {
                Note(row.Up ? $"replica {row.Id} answers again" : $"replica {row.Id} is down: {row.Error}", row.Up ? "up" : "down");
            }

            _lastUp[row.Id] = row.Up;
        }

        if (leader != _lastLeader)
        {
            var ballot = rows.FirstOrDefault(r => r.Id == leader)?.Ballot;
            Note(leader == 0 ? (_lastLeader > 0 ? $"no leader (replica {_lastLeader} led)" : "no leader")
                : _lastLeader <= 0 ? $"replica {leader} leads (ballot {ballot})"
                : $"leader {_lastLeader} → {leader} (ballot {ballot})", "leader");

            _lastLeader = leader;
        }

        List<TimelineEntry> timeline;
        lock (_timelineGate)
        {
            timeline = [.. _timeline];
        }

        return new ClusterView(_options.Id, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), leader, leaders.Count, rows, timeline,
            KeyBrowser: _host.StateLoaded && !_host.Auth.Enabled);
    }

    private async Task<IReadOnlyList<(int Id, string Endpoint, bool Voter)>> MembersAsync(CancellationToken cancellation)
    {
        var completion = ReplicaHost.NewCompletion<MemberListOutcome>();
        try
        {
            await _host.PostAsync(new MemberListInput(completion), cancellation);
            var members = await completion.Task.WaitAsync(TimeSpan.FromMilliseconds(MemberTimeoutMs), cancellation);
            return [.. members.Members.Select(m => (m.Member.Id, m.Member.Endpoint, m.Member.Voter)).OrderBy(m => m.Id)];
        }
        catch (TimeoutException)
        {
            return [.. _options.Endpoints.OrderBy(e => e.Key).Select(e => (e.Key, e.Value, true))];
        }
    }

    private async Task<ReplicaRow> RowAsync(int id, string endpoint, bool voter, CancellationToken cancellation)
    {
        try
        {
            var client = new Protocol.Kv.KvClient(Channel(id, endpoint));
            var status = await client.StatusAsync(new StatusRequest(), deadline: DateTime.UtcNow.AddMilliseconds(MemberTimeoutMs), cancellationToken: cancellation);
            return new ReplicaRow(id, endpoint, voter, true, null, status.Role, (int)status.LeaderId, status.Ballot, BallotRound(status.Ballot),
                (long)status.CommitIndex, (long)status.AppliedSlot, (long)Math.Max(0, (long)status.HighestKnownCommit - (long)status.AppliedSlot), (long)status.Keys,
                status.Revision, status.Rebuilding, (long)status.RequestsLastSecond, status.RequestP50Ms, status.RequestP99Ms, status.FsyncP99Ms, (long)status.WalBytes);
        }
        catch (RpcException e)
        {
            return ReplicaRow.Down(id, endpoint, voter, e.StatusCode == StatusCode.DeadlineExceeded ? $"no answer within {MemberTimeoutMs} ms" : RpcText(e));
        }
    }

    private static string RpcText(RpcException e) =>
        e.Status.DebugException?.InnerException?.Message ?? e.Status.DebugException?.Message ?? e.Status.Detail;

    private static long BallotRound(string ballot) =>
        long.TryParse(ballot.Split('.')[0], NumberStyles.None, CultureInfo.InvariantCulture, out var round) ? round : 0;

    private GrpcChannel Channel(int id, string endpoint)
    {
        if (_channels.TryGetValue(id, out var known) && known.Endpoint == endpoint)
        {
            return known.Channel;
        }

        var handler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromMilliseconds(MemberTimeoutMs), EnableMultipleHttp2Connections = false };
        if (_options.ClientTls is not null && _options.PeerCredentials is { } credentials)
        {
            handler.SslOptions = credentials.ClientPortOptions();
        }

        var scheme = _options.ClientTls is null ? "http" : "https";
        var channel = GrpcChannel.ForAddress($"{scheme}://{endpoint}", new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
        _channels[id] = (endpoint, channel);
        if (known.Channel is not null)
        {
            known.Channel.Dispose();
        }

        return channel;
    }

    /// <summary>Keys under a prefix (a linearizable read), while authentication is off: ?prefix=app/&amp;limit=100.</summary>
    private async Task KeysAsync(HttpContext context)
    {
        if (await KeyBrowserRefusalAsync(context))
        {
            return;
        }

        var prefix = Encoding.UTF8.GetBytes(context.Request.Query["prefix"].ToString());
        var limitText = context.Request.Query["limit"].ToString();
        var limit = limitText.Length == 0 ? 100 : int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out var given) ? given : -1;
        if (limit is < 1 or > KeysListedMax)
        {
            await RefuseAsync(context, StatusCodes.Status400BadRequest, $"limit '{limitText}' must be a whole number from 1 to {KeysListedMax}.");
            return;
        }

        var range = KvRange.Prefix(prefix, limit, keysOnly: true);
        if (range.Problem() is { } problem)
        {
            await RefuseAsync(context, StatusCodes.Status400BadRequest, $"prefix: {problem}");
            return;
        }

        var completion = ReplicaHost.NewAnswerCompletion<RangeOutcome>();
        if (await ReadAsync(context, new RangeInput(range, false, completion), completion) is not { } outcome)
        {
            return;
        }

        await WriteJsonAsync(context, JsonSerializer.Serialize(new
        {
            revision = outcome.Revision,
            count = outcome.Result.Count,
            more = outcome.Result.More,
            keys = outcome.Result.Entries.Select(e => new { key = Text(e.Key, out _), mod_revision = e.Entry.ModRevision, version = e.Entry.Version }),
        }, Json));
    }

    /// <summary>One key (a linearizable read), while authentication is off: ?key=app/config.</summary>
    private async Task KeyAsync(HttpContext context)
    {
        if (await KeyBrowserRefusalAsync(context))
        {
            return;
        }

        var key = Encoding.UTF8.GetBytes(context.Request.Query["key"].ToString());
        var problem = key.Length == 0 ? "give the key as ?key=NAME." : new KvCommand(1, 1, KvOperation.Put, key, []).Validate() is { } invalid ? $"key: {invalid}" : null;
        if (problem is not null)
        {
            await RefuseAsync(context, StatusCodes.Status400BadRequest, problem);
            return;
        }

        var completion = ReplicaHost.NewAnswerCompletion<ReadOutcome>();
        if (await ReadAsync(context, new ReadInput(key, false, completion), completion) is not { } outcome)
        {
            return;
        }

        if (outcome.Entry is not { } entry)
        {
            await RefuseAsync(context, StatusCodes.Status404NotFound, $"key not found (revision {outcome.Revision}).");
            return;
        }

        var shown = entry.Value.Span[..Math.Min(entry.Value.Length, ValueShownBytesMax)].ToArray();
        var value = Text(shown, out var binary);
        await WriteJsonAsync(context, JsonSerializer.Serialize(new
        {
            key = Text(key, out _),
            value,
            encoding = binary ? "base64" : "utf-8",
            bytes = entry.Value.Length,
            cut = shown.Length < entry.Value.Length,
            revision = outcome.Revision,
            create_revision = entry.CreateRevision,
            mod_revision = entry.ModRevision,
            version = entry.Version,
        }, Json));
    }

    private async Task<bool> KeyBrowserRefusalAsync(HttpContext context)
    {
        if (!_host.StateLoaded)
        {
            await RefuseAsync(context, StatusCodes.Status503ServiceUnavailable, $"replica {_options.Id} is still loading its state; retry in a moment.");
            return true;
        }

        if (_host.Auth.Enabled)
        {
            // The HTTP endpoint has no sign-in: with authentication on, keys are read only through the client API.
            await RefuseAsync(context, StatusCodes.Status403Forbidden, "authentication is on, so the dashboard does not show keys; read them with synod get --user NAME.");
            return true;
        }

        return false;
    }

    private async Task<T?> ReadAsync<T>(HttpContext context, ClientInput input, TaskCompletionSource<T> completion)
        where T : class
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        deadline.CancelAfter(ReadTimeoutMs);
        try
        {
            await _host.PostAsync(input, deadline.Token);
            return await completion.Task.WaitAsync(deadline.Token);
        }
        catch (NoLeaderException e)
        {
            await RefuseAsync(context, StatusCodes.Status503ServiceUnavailable, $"replica {_options.Id} cannot serve a linearizable read: {e.Message}.");
        }
        catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
        {
            await RefuseAsync(context, StatusCodes.Status503ServiceUnavailable, $"replica {_options.Id} could not confirm the read within {ReadTimeoutMs} ms (no quorum?).");
        }
        finally
        {
            completion.TrySetCanceled();
        }

        return null;
    }

    private static string Text(byte[] bytes, out bool binary)
    {
        binary = !System.Text.Unicode.Utf8.IsValid(bytes) || bytes.Any(b => b < 0x20 && b is not (byte)'\n' and not (byte)'\r' and not (byte)'\t');
        return binary ? Convert.ToBase64String(bytes) : Encoding.UTF8.GetString(bytes);
    }

    private static async Task RefuseAsync(HttpContext context, int status, string error)
    {
        context.Response.StatusCode = status;
        await WriteJsonAsync(context, JsonSerializer.Serialize(new { error }, Json));
    }

    private static async Task WriteJsonAsync(HttpContext context, string json)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-cache";
        await context.Response.WriteAsync(json, context.RequestAborted);
    }

    private void Note(string text, string kind)
    {
        lock (_timelineGate)
        {
            _timeline.AddFirst(new TimelineEntry(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), kind, text));
            while (_timeline.Count > TimelineMax)
            {
                _timeline.RemoveLast();
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        foreach (var (_, channel) in _channels.Values)
        {
            channel.Dispose();
        }

        _gathering.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>What the dashboard shows: who asked, when, who leads, every member's row and the timeline (newest first).</summary>
internal sealed record ClusterView(int ServedBy, long AtMs, int Leader, int Leaders, IReadOnlyList<ReplicaRow> Replicas, IReadOnlyList<TimelineEntry> Timeline, bool KeyBrowser);

/// <summary>One member as its own status says, or down with why.</summary>
internal sealed record ReplicaRow(
    int Id, string Endpoint, bool Voter, bool Up, string? Error, string Role, int LeaderId, string Ballot, long BallotRound, long CommitIndex,
    long AppliedSlot, long ApplyLag, long Keys, long Revision, bool Rebuilding, long OpsPerSecond, double P50Ms, double P99Ms, double FsyncP99Ms, long WalBytes)
{
    public static ReplicaRow Down(int id, string endpoint, bool voter, string error) =>
        new(id, endpoint, voter, false, error, "down", 0, "", 0, 0, 0, 0, 0, 0, false, 0, 0, 0, 0, 0);
}

/// <summary>One event of the timeline: when (Unix ms), what kind (role, leader, up, down) and what happened.</summary>
internal sealed record TimelineEntry(long AtMs, string Kind, string Text);
