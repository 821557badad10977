using System.Text;
using Synod.Driver;
using Synod.Kv;

namespace Synod.Tests.Driver;

/// <summary>
/// Watchers on real drivers and cores: a watcher reports only what its replica applied; a full stream makes it fall
/// behind and catch up from the history, in order, without a gap; one the window moved past is cancelled naming the
/// oldest revision kept; the refusals and the progress notification say what they should.
/// </summary>
public sealed class WatchDriverTests
{
    private static readonly KvRange Everything = KvRange.Prefix([]);

    private static (DriverCluster Cluster, int Leader, ulong Client) Started(Func<DriverOptions, DriverOptions>? configure = null)
    {
        var cluster = new DriverCluster(3, sessionsMax: 10, configure);
        var leader = cluster.ElectLeader();
        return (cluster, leader, cluster.Register(leader, nonce: 7));
    }

    private static long Put(DriverCluster cluster, int via, ulong client, ulong sequence, string key, string value) =>
        cluster.Write(via, new KvCommand(client, sequence, KvOperation.Put, Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(value))).Result!.Revision;

    [Fact]
    public void A_watcher_reports_a_change_only_once_its_own_replica_has_applied_it()
    {
        var (cluster, leader, client) = Started();
        var follower = leader == 1 ? 2 : 1;
        var sink = new RecordingSink();
        cluster[follower].Watch(sink, 1, Everything, 0, progressNotify: false, user: null);

        cluster.Isolated.Add(follower);
        var revision = Put(cluster, leader, client, 1, "a", "1");
        cluster.TickAll(5);
        Assert.Empty(sink.Events);

        cluster.Isolated.Remove(follower);
        cluster.TickAll(30);
        Assert.Equal([(revision, "a", "1")], sink.Events);
    }

    [Fact]
    public void A_watcher_whose_stream_is_full_falls_behind_and_then_catches_up_in_order_from_the_history()
    {
        var (cluster, leader, client) = Started();
        var sink = new RecordingSink { Room = false };
        cluster[leader].Watch(sink, 1, Everything, 0, progressNotify: false, user: null);

        var revisions = Enumerable.Range(1, 20).Select(i => Put(cluster, leader, client, (ulong)i, $"k{i % 3}", $"{i}")).ToList();
        Assert.Empty(sink.Events);

        sink.Room = true;
        cluster.TickAll(1);
        Assert.Equal(revisions, sink.Events.Select(e => e.Revision));
        Assert.Equal(Enumerable.Range(1, 20).Select(i => $"{i}"), sink.Events.Select(e => e.Value));
    }

    [Fact]
    public void A_watcher_the_window_moved_past_is_cancelled_naming_the_oldest_revision_kept()
    {
        var (cluster, leader, client) = Started(options => options with { History = new KvHistoryLimits(Revisions: 5, Bytes: long.MaxValue) });
        var sink = new RecordingSink { Room = false };
        cluster[leader].Watch(sink, 1, Everything, 0, progressNotify: false, user: null);
        var last = Enumerable.Range(1, 12).Select(i => Put(cluster, leader, client, (ulong)i, "k", $"{i}")).ToList()[^1];

        sink.Room = true;
        cluster.TickAll(1);

        Assert.Empty(sink.Events);
        var (reason, compactRevision) = Assert.Single(sink.Cancels);
        Assert.Equal(last - 4, compactRevision);
        Assert.Contains("fell behind past the history window", reason);
        Assert.Equal(0, cluster[leader].WatcherCount);
    }

    [Fact]
    public void A_watch_from_a_compacted_revision_a_taken_id_or_beyond_the_bound_is_refused_with_the_reason()
    {
        var (cluster, leader, client) = Started(options => options with { History = new KvHistoryLimits(Revisions: 2, Bytes: long.MaxValue), WatchersMax = 1 });
        foreach (var i in Enumerable.Range(1, 5))
        {
            Put(cluster, leader, client, (ulong)i, "k", $"{i}");
        }

        var sink = new RecordingSink();
        cluster[leader].Watch(sink, 1, Everything, startRevision: 1, progressNotify: false, user: null);
        Assert.Contains("has been compacted: the oldest revision kept is", sink.Cancels[0].Reason);
        Assert.Equal(cluster[leader].Kv.CompactRevision, sink.Cancels[0].CompactRevision);

        cluster[leader].Watch(sink, 2, Everything, 0, progressNotify: false, user: null);
        cluster[leader].Watch(sink, 2, Everything, 0, progressNotify: false, user: null);
        cluster[leader].Watch(new RecordingSink(), 3, Everything, 0, progressNotify: false, user: null);
        Assert.Contains("already in use", sink.Cancels[1].Reason);
        Assert.Equal(1, cluster[leader].WatcherCount);
    }

    [Fact]
    public void An_idle_watcher_that_asked_for_progress_is_told_how_far_it_is_current()
    {
        var (cluster, leader, client) = Started(options => options with { WatchProgressEveryTicks = 10 });
        var revision = Put(cluster, leader, client, 1, "k", "1");
        var sink = new RecordingSink();
        cluster[leader].Watch(sink, 1, KvRange.Prefix("other"u8.ToArray()), 0, progressNotify: true, user: null);

        cluster.TickAll(9);
        Assert.Empty(sink.Progress);
        cluster.TickAll(2);

        Assert.Equal(revision, Assert.Single(sink.Progress));
    }

    [Fact]
    public void A_watch_opened_before_authentication_is_ended_with_permission_denied_before_any_later_change_reaches_it()
    {
        var (cluster, leader, client) = Started();
        var denied = new RecordingSink();
        var rooted = new RecordingSink();
        cluster[leader].Watch(denied, 1, KvRange.Prefix("app/"u8.ToArray()), 0, progressNotify: false, user: "alice");
        cluster[leader].Watch(rooted, 1, KvRange.Prefix("app/"u8.ToArray()), 0, progressNotify: false, user: KvAuth.RootUser);
        var before = Put(cluster, leader, client, 1, "app/a", "before");

        // Users root and alice (alice may read "app/a" alone), then authentication on.
        ulong sequence = 2;
        foreach (var change in new KvAuthChange[]
        {
            new(KvAuthChangeKind.UserAdd, Name: KvAuth.RootUser, SecretBytes: [1]),
            new(KvAuthChangeKind.UserAdd, Name: "alice", SecretBytes: [2]),
            new(KvAuthChangeKind.RoleAdd, Role: "one"),
            new(KvAuthChangeKind.RoleGrant, Role: "one", Permission: KvPermission.OnKey(KvPermissionKind.Read, "app/a"u8.ToArray())),
            new(KvAuthChangeKind.UserGrantRole, Name: "alice", Role: "one"),
            new(KvAuthChangeKind.Enable, SecretBytes: new byte[KvAuthChange.TokenKeyBytes]),
        })
        {
            Assert.Equal(KvStatus.Ok, cluster.Write(leader, KvCommand.ChangeAuth(client, sequence++, change, KvAuth.RootUser)).Result!.Status);
        }

        // With authentication on, a session is its user's: root registers one of its own.
        var rootClient = cluster.Write(leader, new KvCommand(0, 8, KvOperation.Register, [], []) { User = KvAuth.RootUser }).Result!.RegisteredClientId;
        var after = cluster.Write(leader, new KvCommand(rootClient, 1, KvOperation.Put, "app/a"u8.ToArray(), "after"u8.ToArray()) { User = KvAuth.RootUser }).Result!.Revision;
        cluster.TickAll(2);

        Assert.Equal([(before, "app/a", "before")], denied.Events);
        var reason = Assert.Single(denied.Denials);
        Assert.Contains("user 'alice' may not read the range ['app/', 'app0')", reason);
        Assert.Equal([(before, "app/a", "before"), (after, "app/a", "after")], rooted.Events);
        Assert.Empty(rooted.Denials);

        // A new watch of alice's over the prefix is refused when it is created; over her one key it is served.
        var again = new RecordingSink();
        cluster[leader].Watch(again, 2, KvRange.Prefix("app/"u8.ToArray()), 0, progressNotify: false, user: "alice");
        cluster[leader].Watch(again, 3, new KvRange("app/a"u8.ToArray(), "app/a\0"u8.ToArray()), before, progressNotify: false, user: "alice");
        Assert.Single(again.Denials);
        Assert.Equal([(before, "app/a", "before"), (after, "app/a", "after")], again.Events);
    }

    [Fact]
    public void A_watch_ends_when_the_password_it_was_signed_in_with_is_changed_or_the_token_key_rotated_though_its_user_may_still_read()
    {
        var (cluster, leader, client) = Started();
        ulong sequence = 1;
        void Change(KvAuthChange change) =>
            Assert.Equal(KvStatus.Ok, cluster.Write(leader, KvCommand.ChangeAuth(client, sequence++, change, KvAuth.RootUser)).Result!.Status);
        foreach (var change in new KvAuthChange[]
        {
            new(KvAuthChangeKind.UserAdd, Name: KvAuth.RootUser, SecretBytes: [1]),
            new(KvAuthChangeKind.UserAdd, Name: "alice", SecretBytes: [2]),
            new(KvAuthChangeKind.RoleAdd, Role: "app"),
            new(KvAuthChangeKind.RoleGrant, Role: "app", Permission: KvPermission.OnPrefix(KvPermissionKind.Read, "app/"u8.ToArray())),
            new(KvAuthChangeKind.UserGrantRole, Name: "alice", Role: "app"),
            new(KvAuthChangeKind.Enable, SecretBytes: new byte[KvAuthChange.TokenKeyBytes]),
        })
        {
            Change(change);
        }

        // With authentication on, a session is its user's: root registers one of its own.
        client = cluster.Write(leader, new KvCommand(0, 9, KvOperation.Register, [], []) { User = KvAuth.RootUser }).Result!.RegisteredClientId;
        sequence = 1;

        // Three watches of alice's: by password (token), by certificate, and one judged by name alone.
        var auth = cluster[leader].Kv.Auth;
        var byToken = new RecordingSink();
        var byCertificate = new RecordingSink();
        var byName = new RecordingSink();
        var app = KvRange.Prefix("app/"u8.ToArray());
        cluster[leader].Watch(byToken, 1, app, 0, progressNotify: false, user: "alice", new WatchSignIn(auth.Users["alice"].Generation, auth.TokenKey));
        cluster[leader].Watch(byCertificate, 1, app, 0, progressNotify: false, user: "alice", new WatchSignIn(auth.Users["alice"].Generation, null));
        cluster[leader].Watch(byName, 1, app, 0, progressNotify: false, user: "alice");

        // Rotating the token key retires the token: only the token's watch ends.
        var key = new byte[KvAuthChange.TokenKeyBytes];
        key[0] = 7;
        Change(new(KvAuthChangeKind.RotateTokenKey, SecretBytes: key));
        cluster.TickAll(2);
        Assert.Contains("token", Assert.Single(byToken.Denials));
        Assert.Empty(byCertificate.Denials);

        // A new password: the certificate's watch, which began under the old generation of alice, ends too; alice may
        // still read app/, so a watch judged by her name alone goes on.
        Change(new(KvAuthChangeKind.UserPassword, Name: "alice", SecretBytes: [3]));
        cluster.TickAll(2);
        Assert.Contains("password changed", Assert.Single(byCertificate.Denials));
        Assert.Empty(byName.Denials);

        // A watch that names a sign-in already retired is refused at once.
        var late = new RecordingSink();
        cluster[leader].Watch(late, 1, app, 0, progressNotify: false, user: "alice", new WatchSignIn(auth.Users["alice"].Generation, auth.TokenKey));
        Assert.Single(late.Denials);
    }

    private sealed class RecordingSink : IWatchSink
    {
        public bool Room { get; set; } = true;

        public List<(long Revision, string Key, string? Value)> Events { get; } = [];

        public List<(string Reason, long CompactRevision)> Cancels { get; } = [];

        public List<long> Progress { get; } = [];

        public List<string> Denials { get; } = [];

        public bool HasRoom => Room;

        public void ProgressRequestAnswered()
        {
        }

        public void Created(long watchId, long startRevision, long revision)
        {
        }

        public void Deliver(long watchId, IReadOnlyList<KvEvent> events, long revision) =>
            Events.AddRange(events.Select(e => (e.Revision, Encoding.UTF8.GetString(e.Key), e.Entry is { } entry ? Encoding.UTF8.GetString(entry.Value.Span) : null)));

        void IWatchSink.Progress(long watchId, long revision) => Progress.Add(revision);

        public void Canceled(long watchId, string reason, long compactRevision) => Cancels.Add((reason, compactRevision));

        public void Denied(long watchId, string reason) => Denials.Add(reason);
    }
}
