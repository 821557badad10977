using Synod.Core;
using Synod.Core.Messages;

namespace Synod.Tests.Core;

/// <summary>
/// Chunked snapshot transfer: a transfer in progress keeps its source, and is neither restarted nor left behind; a
/// source sends a window of chunks per request, and a learner asks for the next window once this one arrived, or
/// again from where it stands once a chunk went missing.
/// </summary>
public sealed class SnapshotTransferTests
{
    [Fact]
    public void A_heartbeat_from_another_peer_does_not_restart_a_transfer_in_progress()
    {
        var (replica, take) = Learner(chunksInFlight: 1);
        var data = Enumerable.Range(0, 12).Select(i => (byte)i).ToArray();

        // Leader 3 says commit 90; replica 1 asks it and gets chunk 0 of a snapshot at slot 90.
        replica.Step(new Heartbeat(3, 1, new Ballot(1, 3), true, 90, 0, 0));
        take();
        replica.Step(new InstallSnapshot(3, 1, 90, 0, 12, data.AsMemory(0, 4)));
        Assert.Equal(4, take().OfType<CatchUpRequest>().Single().SnapshotOffset);

        // The next chunk is slow; meanwhile follower 2 heartbeats a higher commit index. The request goes to 3 again.
        for (var i = 0; i < 5; i++)
        {
            replica.Tick();
            take();
        }

        replica.Step(new Heartbeat(2, 1, new Ballot(1, 3), false, 90, 0, 0));
        var request = take().OfType<CatchUpRequest>().Single();
        Assert.Equal((3, 4L), (request.To, request.SnapshotOffset));

        // A stray first chunk (from 2, or from 3 again) does not throw the progress away.
        replica.Step(new InstallSnapshot(3, 1, 90, 4, 12, data.AsMemory(4, 4)));
        replica.Step(new InstallSnapshot(2, 1, 90, 0, 12, data.AsMemory(0, 4)));
        replica.Step(new InstallSnapshot(3, 1, 90, 0, 12, data.AsMemory(0, 4)));
        replica.Step(new InstallSnapshot(3, 1, 90, 8, 12, data.AsMemory(8)));
        var ready = replica.TakeReady();
        Assert.Equal(90, replica.CommitIndex);
        Assert.Equal(data, ready.Snapshot!.Data.ToArray());
    }

    [Fact]
    public void A_source_sends_a_window_of_chunks_and_the_learner_asks_for_the_next_once_it_has_arrived()
    {
        var (replica, take) = Learner(chunksInFlight: 2);
        var data = Enumerable.Range(0, 12).Select(i => (byte)i).ToArray();
        replica.Step(new Heartbeat(3, 1, new Ballot(1, 3), true, 90, 0, 0));
        Assert.Equal(0, take().OfType<CatchUpRequest>().Single().SnapshotOffset);

        // The first chunk of the window: the second is on its way, so nothing is asked.
        replica.Step(new InstallSnapshot(3, 1, 90, 0, 12, data.AsMemory(0, 4)));
        Assert.Empty(take().OfType<CatchUpRequest>());
        replica.Tick();
        replica.Step(new Heartbeat(3, 1, new Ballot(1, 3), true, 90, 0, 0));
        Assert.Empty(take().OfType<CatchUpRequest>());

        // The window's last chunk: the next window is asked for at once.
        replica.Step(new InstallSnapshot(3, 1, 90, 4, 12, data.AsMemory(4, 4)));
        Assert.Equal((3, 8L), take().OfType<CatchUpRequest>().Select(r => (r.To, r.SnapshotOffset)).Single());
        replica.Step(new InstallSnapshot(3, 1, 90, 8, 12, data.AsMemory(8)));
        take();
        Assert.Equal(90, replica.CommitIndex);

        // Now a source itself: a request from the start gets the first window, one from offset 8 the rest; a learner of a
        // build before windows (no count asked) gets one chunk per request, and one asking more gets this source's window.
        replica.Step(new CatchUpRequest(2, 1, 1, SnapshotChunks: 2));
        Assert.Equal([(0L, 4), (4L, 4)], take().OfType<InstallSnapshot>().Select(c => (c.Offset, c.Chunk.Length)));
        replica.Step(new CatchUpRequest(2, 1, 1, 90, 8, 2));
        Assert.Equal([(8L, 4)], take().OfType<InstallSnapshot>().Select(c => (c.Offset, c.Chunk.Length)));
        replica.Step(new CatchUpRequest(2, 1, 1, 90, 4));
        Assert.Equal([(4L, 4)], take().OfType<InstallSnapshot>().Select(c => (c.Offset, c.Chunk.Length)));
        replica.Step(new CatchUpRequest(2, 1, 1, 90, 0, 64));
        Assert.Equal(2, take().OfType<InstallSnapshot>().Count());
    }

    [Fact]
    public void A_transfer_in_progress_reports_its_source_slot_start_and_bytes_in_until_it_is_installed()
    {
        var (replica, take) = Learner(chunksInFlight: 3);
        var data = Enumerable.Range(0, 12).Select(i => (byte)i).ToArray();
        Assert.Null(replica.IncomingSnapshotProgress);
        replica.Tick();
        replica.Step(new Heartbeat(3, 1, new Ballot(1, 3), true, 90, 0, 0));
        take();
        replica.Step(new InstallSnapshot(3, 1, 90, 0, 12, data.AsMemory(0, 4)));
        Assert.Equal(new SnapshotTransferProgress(3, 90, 1, 4, 12), replica.IncomingSnapshotProgress);

        // A chunk ahead of a missing one is not counted yet; the start stays the first chunk's tick.
        replica.Tick();
        replica.Step(new InstallSnapshot(3, 1, 90, 8, 12, data.AsMemory(8)));
        Assert.Equal(new SnapshotTransferProgress(3, 90, 1, 4, 12), replica.IncomingSnapshotProgress);
        replica.Step(new InstallSnapshot(3, 1, 90, 4, 12, data.AsMemory(4, 4)));
        Assert.Equal(90, replica.CommitIndex);
        Assert.Null(replica.IncomingSnapshotProgress);
    }

    [Fact]
    public void A_lost_chunk_is_asked_for_again_once_no_chunk_came_for_RetransmitTicks()
    {
        var (replica, take) = Learner(chunksInFlight: 3);
        var data = Enumerable.Range(0, 12).Select(i => (byte)i).ToArray();
        replica.Step(new Heartbeat(3, 1, new Ballot(1, 3), true, 90, 0, 0));
        take();
        replica.Step(new InstallSnapshot(3, 1, 90, 0, 12, data.AsMemory(0, 4)));

        // The chunk at 4 is lost; the one at 8 overtook it and is kept in place.
        replica.Step(new InstallSnapshot(3, 1, 90, 8, 12, data.AsMemory(8)));
        var requests = new List<CatchUpRequest>();
        for (var tick = 1; tick <= 4; tick++)
        {
            replica.Tick();
            replica.Step(new Heartbeat(3, 1, new Ballot(1, 3), true, 90, 0, 0));
            requests.AddRange(take().OfType<CatchUpRequest>().Select(r => r with { }));
            Assert.True(tick >= 4 || requests.Count == 0, $"asked again after {tick} tick(s), before RetransmitTicks (4)");
        }

        Assert.Equal(4, requests.Single().SnapshotOffset);
        replica.Step(new InstallSnapshot(3, 1, 90, 4, 12, data.AsMemory(4, 4)));
        replica.Step(new InstallSnapshot(3, 1, 90, 8, 12, data.AsMemory(8)));
        take();
        Assert.Equal(90, replica.CommitIndex);
    }

    [Fact]
    public void Chunks_slower_than_RetransmitTicks_are_not_asked_for_again_once_the_learner_has_seen_how_slow_they_are()
    {
        var (replica, take) = Learner(chunksInFlight: 8);
        var data = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        replica.Step(new Heartbeat(3, 1, new Ballot(1, 3), true, 90, 0, 0));
        Assert.Equal(8, take().OfType<CatchUpRequest>().Single().SnapshotChunks);

        // The source sends its window one chunk every 7 ticks (a slow link): only the first gap is taken for a loss.
        var requests = 0;
        for (var offset = 0; offset < 32; offset += 4)
        {
            replica.Step(new InstallSnapshot(3, 1, 90, offset, 32, data.AsMemory(offset, 4)));
            requests += take().OfType<CatchUpRequest>().Count();
            for (var tick = 0; tick < 7 && offset < 28; tick++)
            {
                replica.Tick();
                replica.Step(new Heartbeat(3, 1, new Ballot(1, 3), true, 90, 0, 0));
                requests += take().OfType<CatchUpRequest>().Count();
            }
        }

        Assert.Equal(90, replica.CommitIndex);
        Assert.Equal(1, requests);
    }

    /// <summary>
    /// Found by a cold review (2026-12-07): a configuration header whose length field is near int.MaxValue overflowed the
    /// bounds check (in int) and then threw from the slice inside Step, stopping the learner's owner loop. The header has
    /// no checksum of its own, so one flipped bit from a peer could do it. Now it is refused as malformed.
    /// </summary>
    [Fact]
    public void A_snapshot_whose_configuration_header_claims_a_length_near_the_largest_int_is_refused_not_thrown()
    {
        var (replica, take) = Learner(chunksInFlight: 16);
        var data = new byte[40];
        "SYCF"u8.CopyTo(data);
        data[4] = 1;
        data[5] = 1;
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(6), 0);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(14), 1);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(22), int.MaxValue - 10);
        replica.Step(new Heartbeat(3, 1, new Ballot(1, 3), true, 90, 0, 0));
        take();

        for (var offset = 0; offset < data.Length; offset += 4)
        {
            replica.Step(new InstallSnapshot(3, 1, 90, offset, data.Length, data.AsMemory(offset, 4)));
        }

        take();
        Assert.Equal(0, replica.CommitIndex);
        Assert.Contains("configuration header holds a malformed configuration", replica.LastRefusal, StringComparison.Ordinal);
    }

    [Fact]
    public void A_snapshot_the_state_machine_refuses_is_not_installed_and_is_fetched_again_from_the_start()
    {
        var (replica, take) = Learner(chunksInFlight: 4, check: bytes => bytes.Span[0] == 0xFF ? "damaged" : null);
        var data = Enumerable.Range(0, 8).Select(i => (byte)i).ToArray();
        data[0] = 0xFF;
        replica.Step(new Heartbeat(3, 1, new Ballot(1, 3), true, 90, 0, 0));
        take();
        replica.Step(new InstallSnapshot(3, 1, 90, 0, 8, data.AsMemory(0, 4)));
        replica.Step(new InstallSnapshot(3, 1, 90, 4, 8, data.AsMemory(4, 4)));
        var ready = replica.TakeReady();
        replica.Persisted(ready.Number);

        Assert.Equal(0, replica.CommitIndex);
        Assert.Null(ready.Snapshot);
        Assert.DoesNotContain(ready.PersistOps, op => op is Synod.Core.Persistence.SnapshotOp);
        Assert.Equal(1, replica.SnapshotsRefused);
        Assert.Contains("refused by the state machine (damaged)", replica.LastRefusal, StringComparison.Ordinal);

        // 3 is the only source: asked again from the start at its first heartbeat RetransmitTicks on (not back to back).
        Assert.Empty(ready.Messages.OfType<CatchUpRequest>());
        for (var i = 0; i < replica.Options.RetransmitTicks; i++)
        {
            replica.Tick();
        }

        take();
        replica.Step(new Heartbeat(3, 1, new Ballot(1, 3), true, 90, 0, 0));
        var again = take().OfType<CatchUpRequest>().Single();
        Assert.Equal((3, 0L, 0L), (again.To, again.SnapshotSlot, again.SnapshotOffset));

        // The intact snapshot, sent again, is installed.
        data[0] = 0;
        replica.Step(new InstallSnapshot(3, 1, 90, 0, 8, data.AsMemory(0, 4)));
        replica.Step(new InstallSnapshot(3, 1, 90, 4, 8, data.AsMemory(4, 4)));
        take();
        Assert.Equal(90, replica.CommitIndex);
    }

    [Fact]
    public void Once_the_stored_copy_is_handed_over_chunks_are_sent_from_it_and_a_copy_of_another_snapshot_is_refused()
    {
        var (replica, take) = Learner(chunksInFlight: 3);
        var data = Enumerable.Range(0, 12).Select(i => (byte)i).ToArray();
        replica.Step(new Heartbeat(3, 1, new Ballot(1, 3), true, 90, 0, 0));
        take();
        replica.Step(new InstallSnapshot(3, 1, 90, 0, 12, data.AsMemory(0, 4)));
        replica.Step(new InstallSnapshot(3, 1, 90, 4, 12, data.AsMemory(4, 4)));
        replica.Step(new InstallSnapshot(3, 1, 90, 8, 12, data.AsMemory(8)));
        take();
        Assert.Equal(90, replica.SnapshotSlot);

        // Another slot's copy, or one of another size, is not this snapshot: the replica keeps its own.
        Assert.False(replica.UseStoredSnapshot(89, new byte[12]));
        Assert.False(replica.UseStoredSnapshot(90, new byte[11]));
        replica.Step(new CatchUpRequest(2, 1, 1, SnapshotChunks: 3));
        Assert.Equal(data, take().OfType<InstallSnapshot>().SelectMany(c => c.Chunk.ToArray()).ToArray());

        // The stored copy (bytes told apart here, to see which one is sent) is what peers get from now on.
        var stored = data.Select(b => (byte)(b + 100)).ToArray();
        Assert.True(replica.UseStoredSnapshot(90, stored));
        replica.Step(new CatchUpRequest(2, 1, 1, SnapshotChunks: 3));
        Assert.Equal(stored, take().OfType<InstallSnapshot>().SelectMany(c => c.Chunk.ToArray()).ToArray());
        Assert.Equal(12, replica.SnapshotBytes);
    }

    /// <summary>
    /// A snapshot the shell serialised into memory of its own (outside the collected heap) is lent to the core until the
    /// stored copy replaces it: the log is handed it as it is, peers get copies of its chunks (a message may wait in a
    /// queue for longer than the shell keeps the memory), and once the stored copy is in, the core holds the lent memory
    /// no more and sends views of the stored copy (but for the chunk that holds the configuration header, a copy with
    /// the header from memory).
    /// </summary>
    [Fact]
    public void Chunks_of_a_snapshot_the_shell_lent_are_copies_until_the_stored_copy_replaces_it()
    {
        var h = new CoreHarness([1, 2, 3]);
        h.StartAll();
        for (var t = 0; t < 200 && h.R[3].Role != ReplicaRole.Leader; t++)
        {
            foreach (var id in new[] { 1, 2, 3 }) { h.Tick(id); }
            h.Deliver(_ => true);
        }

        h.Propose(3, "a");
        h.Deliver(_ => true);
        var leader = h.R[3];
        var slot = leader.CommitIndex;
        var envelope = leader.SnapshotEnvelope(slot);
        var lent = new byte[envelope.Length + 10];
        envelope.CopyTo(lent, 0);
        leader.CompactEnveloped(slot, lent, envelope.Length);
        Assert.True(leader.HoldsSnapshotBytes(lent));
        h.Pump(3);
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(h.Disk[3].SnapshotData!.Value, out var logged));
        Assert.Same(lent, logged.Array);

        h.Net.Clear();
        leader.Step(new CatchUpRequest(2, 3, 1, SnapshotChunks: 2));
        h.Pump(3);
        var copy = Assert.Single(h.Net.OfType<InstallSnapshot>());
        Assert.Equal(lent, copy.Chunk.ToArray());
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(copy.Chunk, out var copied));
        Assert.NotSame(lent, copied.Array);

        var stored = lent.ToArray();
        Assert.True(leader.UseStoredSnapshot(slot, stored));
        Assert.False(leader.HoldsSnapshotBytes(lent));
        h.Net.Clear();
        leader.Step(new CatchUpRequest(2, 3, 1, SnapshotChunks: 2));
        h.Pump(3);
        var first = Assert.Single(h.Net.OfType<InstallSnapshot>());
        Assert.Equal(stored, first.Chunk.ToArray());
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(first.Chunk, out var headed));
        Assert.NotSame(stored, headed.Array);

        // A chunk past the configuration header (which goes out from memory, HeaderFromMemory) is a view of the stored copy.
        h.Net.Clear();
        leader.Step(new CatchUpRequest(2, 3, 1, slot, envelope.Length, 2));
        h.Pump(3);
        var view = Assert.Single(h.Net.OfType<InstallSnapshot>());
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(view.Chunk, out var viewed));
        Assert.Same(stored, viewed.Array);
        Assert.Equal(envelope.Length, viewed.Offset);
    }

    [Fact]
    public void A_snapshot_from_a_peer_is_assembled_in_the_array_the_allocator_gives_every_byte_written_by_its_chunks()
    {
        // The server's allocator gives arrays backed by huge pages; this one gives memory that is not zero, as reused memory
        // may be, so that a byte no chunk wrote would show.
        var given = new List<byte[]>();
        var (replica, take) = Learner(chunksInFlight: 4, allocate: length =>
        {
            var array = Enumerable.Repeat((byte)0xEE, length).ToArray();
            given.Add(array);
            return array;
        });
        var data = Enumerable.Range(0, 12).Select(i => (byte)i).ToArray();
        replica.Step(new Heartbeat(3, 1, new Ballot(1, 3), true, 90, 0, 0));
        take();

        // The window's chunks out of order: the third overtakes the second.
        replica.Step(new InstallSnapshot(3, 1, 90, 0, 12, data.AsMemory(0, 4)));
        replica.Step(new InstallSnapshot(3, 1, 90, 8, 12, data.AsMemory(8, 4)));
        replica.Step(new InstallSnapshot(3, 1, 90, 4, 12, data.AsMemory(4, 4)));
        var ready = replica.TakeReady();
        replica.Persisted(ready.Number);

        Assert.Equal(12, Assert.Single(given).Length);
        Assert.Equal(90, replica.CommitIndex);
        var installed = Assert.IsType<SnapshotToInstall>(ready.Snapshot);
        Assert.Equal(data, installed.Data.ToArray());
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(installed.Data, out var backing));
        Assert.Same(given[0], backing.Array);
    }

    [Fact]
    public void A_learner_that_began_an_older_snapshot_turns_to_the_peer_with_the_newest_once_it_hears_it()
    {
        var (asked, installedSlot) = OlderFirstThenNewer(ProtocolBugs.None);

        Assert.Equal([2, 3], asked);
        Assert.Equal(85, installedSlot);
    }

    [Fact]
    public void Without_the_newest_snapshot_rule_the_learner_finishes_the_older_one_which_the_test_above_tells_apart()
    {
        var (asked, installedSlot) = OlderFirstThenNewer(ProtocolBugs.OlderSnapshotKept);

        Assert.Equal([2], asked);
        Assert.Equal(60, installedSlot);
    }

    [Fact]
    public void A_learner_asks_the_peer_with_the_newest_snapshot_it_has_heard_not_the_one_whose_heartbeat_came_last()
    {
        var (replica, take) = Learner(chunksInFlight: 1);
        replica.Step(new Heartbeat(3, 1, new Ballot(1, 3), true, 90, 0, 0, SnapshotSlot: 85));
        Assert.Equal(3, take().OfType<CatchUpRequest>().Single().To);
        for (var i = 0; i < 5; i++)
        {
            replica.Tick();
            take();
        }

        // Nothing of 3's snapshot came (lost); 2's heartbeat asks again, and 3 is still the one with the newest.
        replica.Step(new Heartbeat(2, 1, new Ballot(1, 3), false, 90, 0, 0, SnapshotSlot: 60));
        Assert.Equal(3, take().OfType<CatchUpRequest>().Single().To);
    }

    [Fact]
    public void A_peer_with_a_newer_snapshot_that_never_answers_is_passed_over_after_an_election_timeout()
    {
        // Replica 3 is heard (its heartbeats arrive) but does not hear replica 1: a one-way partition.
        var (replica, take) = Learner(chunksInFlight: 1);
        var older = Enumerable.Range(0, 8).Select(i => (byte)i).ToArray();
        replica.Step(new Heartbeat(3, 1, new Ballot(1, 3), false, 90, 0, 0, SnapshotSlot: 85));
        Assert.Equal(3, take().OfType<CatchUpRequest>().Single().To);

        var asked = new List<int>();
        for (var i = 0; i < replica.Options.ElectionTimeoutTicks + replica.Options.RetransmitTicks; i++)
        {
            replica.Tick();
            replica.Step(new Heartbeat(3, 1, new Ballot(1, 3), false, 90, 0, 0, SnapshotSlot: 85));
            replica.Step(new Heartbeat(2, 1, new Ballot(1, 3), false, 90, 0, 0, SnapshotSlot: 60));
            asked.AddRange(take().OfType<CatchUpRequest>().Select(r => r.To));
        }

        Assert.Equal(2, asked[^1]);
        Assert.DoesNotContain(2, asked.Take(asked.IndexOf(2)).Where(to => to != 3));

        // 2's snapshot is taken, not dropped for 3's newer one.
        replica.Step(new InstallSnapshot(2, 1, 60, 0, 8, older.AsMemory(0, 4)));
        replica.Step(new InstallSnapshot(2, 1, 60, 4, 8, older.AsMemory(4, 4)));
        Assert.Equal(60, replica.TakeReady().Snapshot?.Slot);
    }

    [Fact]
    public void A_late_first_chunk_of_a_dropped_transfer_does_not_start_it_over()
    {
        var (replica, take) = Learner(chunksInFlight: 1);
        var older = Enumerable.Range(0, 8).Select(i => (byte)i).ToArray();
        replica.Step(new Heartbeat(2, 1, new Ballot(1, 3), false, 90, 0, 0, SnapshotSlot: 60));
        replica.Step(new Heartbeat(3, 1, new Ballot(1, 3), true, 90, 0, 0, SnapshotSlot: 85));
        replica.Step(new InstallSnapshot(2, 1, 60, 0, 8, older.AsMemory(0, 4)));
        Assert.Equal([2, 3], take().OfType<CatchUpRequest>().Select(r => r.To));

        // A duplicate of 2's first chunk: ignored, and nothing is asked again.
        replica.Step(new InstallSnapshot(2, 1, 60, 0, 8, older.AsMemory(0, 4)));
        Assert.Empty(take().OfType<CatchUpRequest>());
    }

    [Fact]
    public void A_learner_that_refused_a_peers_damaged_snapshot_asks_another_peer_and_ignores_the_damaged_ones_late_chunks()
    {
        var (asked, installedSlot, lateChunkTaken) = DamagedAtTheNewestSource(ProtocolBugs.None);

        // 3's copy (the newest) is refused; 2's older snapshot is fetched and installed, and 3 is not asked again.
        Assert.Equal([3, 2], asked);
        Assert.Equal(60, installedSlot);
        Assert.False(lateChunkTaken);
    }

    [Fact]
    public void The_bug_switch_that_asks_the_refused_source_again_is_told_apart()
    {
        var (asked, installedSlot, lateChunkTaken) = DamagedAtTheNewestSource(ProtocolBugs.RefusedSourceAskedAgain);

        Assert.Equal([3, 3], asked);
        Assert.Equal(0, installedSlot);
        Assert.True(lateChunkTaken);
    }

    [Fact]
    public void A_refused_source_is_asked_again_when_no_other_can_serve_and_once_it_reports_a_newer_snapshot()
    {
        var (replica, take) = Learner(chunksInFlight: 2, check: bytes => bytes.Span[0] == 0xFF ? "damaged" : null);
        var damaged = Enumerable.Range(0, 8).Select(i => (byte)i).ToArray();
        damaged[0] = 0xFF;
        replica.Step(new Heartbeat(3, 1, new Ballot(1, 3), true, 90, 0, 0, SnapshotSlot: 85));
        take();
        SendDamaged();

        // No other peer is heard: 3 is the only source, and is asked again, but not at once nor at its next heartbeat
        // within RetransmitTicks; then its snapshot is taken again.
        Assert.Empty(take().OfType<CatchUpRequest>());
        replica.Step(new Heartbeat(3, 1, new Ballot(1, 3), true, 90, 0, 0, SnapshotSlot: 85));
        Assert.Empty(take().OfType<CatchUpRequest>());
        WaitRetransmit();

        take();
        replica.Step(new Heartbeat(3, 1, new Ballot(1, 3), true, 90, 0, 0, SnapshotSlot: 85));
        Assert.Equal(3, take().OfType<CatchUpRequest>().Single().To);
        SendDamaged();
        Assert.Equal(2, replica.SnapshotsRefused);
        take();

        // 2 is heard ahead (its snapshot older): it is asked instead of 3 ...
        replica.Step(new Heartbeat(2, 1, new Ballot(1, 3), false, 90, 0, 0, SnapshotSlot: 60));
        WaitRetransmit();

        replica.Step(new Heartbeat(3, 1, new Ballot(1, 3), true, 90, 0, 0, SnapshotSlot: 85));
        Assert.Equal(2, take().OfType<CatchUpRequest>().Single().To);

        // ... until 3 reports a newer snapshot than the one refused.
        WaitRetransmit();

        replica.Step(new Heartbeat(3, 1, new Ballot(1, 3), true, 95, 0, 0, SnapshotSlot: 88));
        Assert.Equal(3, take().OfType<CatchUpRequest>().Single().To);

        void SendDamaged()
        {
            replica.Step(new InstallSnapshot(3, 1, 85, 0, 8, damaged.AsMemory(0, 4)));
            replica.Step(new InstallSnapshot(3, 1, 85, 4, 8, damaged.AsMemory(4, 4)));
        }

        void WaitRetransmit()
        {
            for (var i = 0; i < replica.Options.RetransmitTicks; i++)
            {
                replica.Tick();
            }
        }
    }

    [Fact]
    public void A_source_whose_snapshot_file_rotted_in_its_header_sends_the_header_it_checked_in_memory()
    {
        var (original, sent, continued, damaged) = SourceWithDamagedHeader(ProtocolBugs.None);

        // The whole snapshot as a learner assembles it, and a window continued from the chunk that holds the flag.
        Assert.Equal(original, sent);
        Assert.Equal(original.AsSpan(48, 16).ToArray(), continued);
        Assert.Equal(3, damaged);
    }

    [Fact]
    public void The_bug_switch_that_sends_the_header_as_the_file_holds_it_is_told_apart()
    {
        var (original, sent, continued, damaged) = SourceWithDamagedHeader(ProtocolBugs.DamagedHeaderSent);

        Assert.NotEqual(original, sent);
        Assert.NotEqual(original.AsSpan(48, 16).ToArray(), continued);
        Assert.Equal(0, damaged);
    }

    [Fact]
    public void A_stored_copy_whose_header_is_already_damaged_is_not_taken_and_the_copy_in_memory_is_sent()
    {
        var (source, snapshot) = SingleReplicaSnapshot(new ReplicaOptions { Id = 1, Members = [1] }, [9, 9, 9]);
        var stored = snapshot.Data.ToArray();
        stored[6 + 20 + 19 + 4] ^= 1;

        Assert.False(source.UseStoredSnapshot(snapshot.Slot, stored));
        Assert.Equal(1, source.SnapshotHeadersDamaged);
        Assert.True(source.HoldsSnapshotBytes(snapshot.Data));
        Assert.Contains("the file is damaged", source.LastSnapshotDamage, StringComparison.Ordinal);
    }

    /// <summary>A cluster of one replica that leads, chose one slot and took a snapshot of <paramref name="state"/> there: the replica and the snapshot it persists.</summary>
    private static (Replica Source, Synod.Core.Persistence.SnapshotOp Snapshot) SingleReplicaSnapshot(ReplicaOptions options, byte[] state)
    {
        var source = new Replica(options, new SeededRandom(1));
        for (var i = 0; i < 200 && source.Role != ReplicaRole.Leader; i++)
        {
            source.Tick();
            source.Persisted(source.TakeReady().Number);
        }

        source.Propose([1]);
        for (var i = 0; i < 10 && source.AppliedIndex == 0; i++)
        {
            source.Persisted(source.TakeReady().Number);
        }

        source.Compact(source.AppliedIndex, state);
        return (source, source.TakeReady().PersistOps.OfType<Synod.Core.Persistence.SnapshotOp>().Single());
    }

    /// <summary>
    /// A single replica takes a snapshot and sends it from a copy it was handed as stored (a mapping), in 16-byte chunks
    /// (its header spans several); a byte of that copy's header (the member's voter flag, byte 49, in the chunk at 48) and
    /// one of the shell's head (<see cref="ReplicaOptions.SnapshotShellHeadBytes"/> 16, in the chunk at 64) are then flipped.
    /// Returns the snapshot as taken, as sent from the start afterwards, the chunk at 48 as sent to a learner continuing
    /// a transfer, and the damage the replica counted.
    /// </summary>
    private static (byte[] Original, byte[] Sent, byte[] Continued, long Damaged) SourceWithDamagedHeader(ProtocolBugs bugs)
    {
        var state = Enumerable.Range(0, 40).Select(i => (byte)i).ToArray();
        var (source, snapshot) = SingleReplicaSnapshot(
            new ReplicaOptions { Id = 1, Members = [1], SnapshotChunkBytes = 16, SnapshotChunksInFlight = 64, SnapshotShellHeadBytes = 16, Bugs = bugs }, state);
        var original = snapshot.Data.ToArray();
        var stored = snapshot.Data.ToArray();
        Assert.True(source.UseStoredSnapshot(snapshot.Slot, stored));

        // The member's voter flag: the 6-byte start, 20 bytes of slots and length, 19 of the command's header, then its 4-byte id.
        const int VoterFlag = 6 + 20 + 19 + 4;
        Assert.Equal(1, stored[VoterFlag]);
        stored[VoterFlag] ^= 1;

        // And the 14th of the shell's first 16 bytes, which its own check does not cover (SnapshotShellHeadBytes), in the
        // chunk after the flag's.
        var shellStart = stored.Length - state.Length;
        Assert.InRange(shellStart + 13, 64, 79);
        stored[shellStart + 13] ^= 0x40;
        source.Step(new CatchUpRequest(2, 1, 1, SnapshotChunks: 64));
        var sent = source.TakeReady().Messages.OfType<InstallSnapshot>().OrderBy(c => c.Offset).SelectMany(c => c.Chunk.ToArray()).ToArray();
        source.Step(new CatchUpRequest(2, 1, 1, snapshot.Slot, 48, 1));
        var continued = source.TakeReady().Messages.OfType<InstallSnapshot>().Single().Chunk.ToArray();
        return (original, sent, continued, source.SnapshotHeadersDamaged);
    }

    /// <summary>
    /// Leader 3 (snapshot at 85, its copy damaged) and follower 2 (snapshot at 60) are heard; 3's snapshot is fetched and
    /// refused. Returns the peers asked for a first window, in order, the slot installed once 2's chunks and a late
    /// copy of 3's window have come, and whether that late copy was assembled (and refused) again.
    /// </summary>
    private static (List<int> Asked, long InstalledSlot, bool LateChunkTaken) DamagedAtTheNewestSource(ProtocolBugs bugs)
    {
        var (replica, take) = Learner(chunksInFlight: 2, check: bytes => bytes.Span[0] == 0xFF ? "damaged" : null, bugs: bugs);
        var damaged = Enumerable.Range(0, 8).Select(i => (byte)i).ToArray();
        damaged[0] = 0xFF;
        var older = Enumerable.Range(10, 8).Select(i => (byte)i).ToArray();
        var asked = new List<int>();
        void Note(List<Message> messages) => asked.AddRange(messages.OfType<CatchUpRequest>().Where(r => r.SnapshotOffset == 0).Select(r => r.To));

        replica.Step(new Heartbeat(3, 1, new Ballot(1, 3), true, 90, 0, 0, SnapshotSlot: 85));
        Note(take());
        replica.Step(new Heartbeat(2, 1, new Ballot(1, 3), false, 90, 0, 0, SnapshotSlot: 60));
        Note(take());
        replica.Step(new InstallSnapshot(3, 1, 85, 0, 8, damaged.AsMemory(0, 4)));
        replica.Step(new InstallSnapshot(3, 1, 85, 4, 8, damaged.AsMemory(4, 4)));
        Assert.Equal(1, replica.SnapshotsRefused);
        Assert.Equal((3, 85L), replica.LastSnapshotRefused);
        Note(take());

        // A late copy of 3's window (answering an earlier request), then 2's snapshot.
        replica.Step(new InstallSnapshot(3, 1, 85, 0, 8, damaged.AsMemory(0, 4)));
        replica.Step(new InstallSnapshot(3, 1, 85, 4, 8, damaged.AsMemory(4, 4)));
        var lateChunkTaken = replica.SnapshotsRefused > 1;
        take();
        replica.Step(new InstallSnapshot(2, 1, 60, 0, 8, older.AsMemory(0, 4)));
        replica.Step(new InstallSnapshot(2, 1, 60, 4, 8, older.AsMemory(4, 4)));
        var snapshot = replica.TakeReady().Snapshot;
        return (asked, snapshot?.Slot ?? 0, lateChunkTaken);
    }

    /// <summary>
    /// Follower 2 (snapshot at 60) is heard first and sends the first chunk of its snapshot; leader 3 (snapshot at 85) is
    /// heard meanwhile. Returns the peers asked for a snapshot, in order, and the slot of the snapshot installed.
    /// </summary>
    private static (List<int> Asked, long InstalledSlot) OlderFirstThenNewer(ProtocolBugs bugs)
    {
        var (replica, take) = Learner(chunksInFlight: 1, bugs: bugs);
        var older = Enumerable.Range(0, 8).Select(i => (byte)i).ToArray();
        var newer = Enumerable.Range(100, 8).Select(i => (byte)i).ToArray();
        var asked = new List<int>();
        void Note(List<Message> messages) => asked.AddRange(messages.OfType<CatchUpRequest>().Where(r => r.SnapshotOffset == 0).Select(r => r.To));

        replica.Step(new Heartbeat(2, 1, new Ballot(1, 3), false, 90, 0, 0, SnapshotSlot: 60));
        Note(take());
        replica.Step(new Heartbeat(3, 1, new Ballot(1, 3), true, 90, 0, 0, SnapshotSlot: 85));
        Note(take());
        replica.Step(new InstallSnapshot(2, 1, 60, 0, 8, older.AsMemory(0, 4)));
        Note(take());

        // Whichever transfer the learner is in now, both sources' next chunks arrive (the other's are dropped).
        replica.Step(new InstallSnapshot(3, 1, 85, 0, 8, newer.AsMemory(0, 4)));
        replica.Step(new InstallSnapshot(2, 1, 60, 4, 8, older.AsMemory(4, 4)));
        replica.Step(new InstallSnapshot(3, 1, 85, 4, 8, newer.AsMemory(4, 4)));
        var snapshot = replica.TakeReady().Snapshot;
        return (asked, snapshot?.Slot ?? 0);
    }

    private static (Replica Replica, Func<List<Message>> Take) Learner(
        int chunksInFlight, Func<ReadOnlyMemory<byte>, string?>? check = null, Func<int, byte[]>? allocate = null, ProtocolBugs bugs = ProtocolBugs.None)
    {
        var replica = new Replica(
            new ReplicaOptions
            {
                Id = 1, Members = [1, 2, 3], SnapshotChunkBytes = 4, SnapshotChunksInFlight = chunksInFlight, SnapshotBytesMax = 1024, RetransmitTicks = 4,
                SnapshotCheck = check, SnapshotArrayAllocator = allocate, Bugs = bugs,
            },
            new SeededRandom(1));
        return (replica, () =>
        {
            var ready = replica.TakeReady();
            replica.Persisted(ready.Number);
            return ready.Messages;
        });
    }
}
