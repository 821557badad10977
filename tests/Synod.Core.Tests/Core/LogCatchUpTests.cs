using Synod.Core;
using Synod.Core.Messages;

namespace Synod.Tests.Core;

/// <summary>
/// A replica behind in the log asks one peer at a time for the entries it lacks: while an answer is on the way, a
/// heartbeat from another peer ahead does not ask that peer for the same slots, and a lost answer is asked for again
/// once a wait of twice the last answer's time (RetransmitTicks at the least) is over.
/// </summary>
public sealed class LogCatchUpTests
{
    [Fact]
    public void An_answer_slower_than_RetransmitTicks_is_waited_for_once_the_learner_has_seen_how_slow_answers_are()
    {
        var (replica, take) = Learner();
        replica.Step(new Heartbeat(3, 1, new Ballot(1, 3), true, 40, 0, 0));
        var requests = take().OfType<CatchUpRequest>().Select(r => (r.To, r.FromSlot)).ToList();
        Assert.Equal([(3, 1L)], requests);

        // The first answer takes 3 ticks, the second 5 and the third 7: more than RetransmitTicks (4), each less than
        // twice the one before. Peers 2 and 3 both heartbeat every tick meanwhile.
        var answered = 0L;
        foreach (var ticks in (int[])[3, 5, 7])
        {
            for (var tick = 0; tick < ticks; tick++)
            {
                replica.Tick();
                replica.Step(new Heartbeat(2, 1, new Ballot(1, 3), false, 40, 0, 0));
                replica.Step(new Heartbeat(3, 1, new Ballot(1, 3), true, 40, 0, 0));
                requests.AddRange(take().OfType<CatchUpRequest>().Select(r => (r.To, r.FromSlot)));
            }

            replica.Step(new CatchUpReply(3, 1, Entries(answered + 1, answered + 10), 40));
            answered += 10;
            requests.AddRange(take().OfType<CatchUpRequest>().Select(r => (r.To, r.FromSlot)));
            Assert.Equal(answered, replica.CommitIndex);
        }

        // One request per answer, each for the slots after it; none to peer 2 for slots already asked of 3.
        Assert.Equal([(3, 1L), (3, 11L), (3, 21L), (3, 31L)], requests);
    }

    [Fact]
    public void A_lost_answer_is_asked_for_again_of_the_peer_heard_once_the_wait_is_over_and_the_wait_grows_while_none_comes()
    {
        var (replica, take) = Learner();
        replica.Step(new Heartbeat(3, 1, new Ballot(1, 3), true, 40, 0, 0));
        Assert.Single(take().OfType<CatchUpRequest>());

        // Peer 3's answer is lost and 3 falls silent; peer 2 heartbeats every tick.
        var asked = new List<(int Tick, int To, long From)>();
        for (var tick = 1; tick <= 14; tick++)
        {
            replica.Tick();
            replica.Step(new Heartbeat(2, 1, new Ballot(1, 3), false, 40, 0, 0));
            asked.AddRange(take().OfType<CatchUpRequest>().Select(r => (tick, r.To, r.FromSlot)));
        }

        // RetransmitTicks (4) after the first request, then twice that after the second: never sooner, never idle longer.
        Assert.Equal([(4, 2, 1L), (12, 2, 1L)], asked);
        replica.Step(new CatchUpReply(2, 1, Entries(1, 40), 40));
        Assert.Equal(40, replica.CommitIndex);
    }

    [Fact]
    public void The_wait_stops_growing_at_an_election_timeout()
    {
        var (replica, take) = Learner();
        replica.Step(new Heartbeat(3, 1, new Ballot(1, 3), true, 40, 0, 0));
        take();
        var asked = new List<int>();
        for (var tick = 1; tick <= 45; tick++)
        {
            replica.Tick();
            replica.Step(new Heartbeat(2, 1, new Ballot(1, 3), false, 40, 0, 0));
            asked.AddRange(take().OfType<CatchUpRequest>().Select(_ => tick));
        }

        // 4, then 8, then the election timeout (10) each time after.
        Assert.Equal([4, 12, 22, 32, 42], asked);
    }

    [Fact]
    public void An_answer_from_another_peer_past_the_pending_requests_slots_lets_the_next_request_go()
    {
        var (replica, take) = Learner();
        replica.Step(new Heartbeat(3, 1, new Ballot(1, 3), true, 40, 0, 0));
        take();
        replica.Tick();
        replica.Step(new CatchUpReply(2, 1, Entries(1, 10), 40));
        Assert.Equal([(2, 11L)], take().OfType<CatchUpRequest>().Select(r => (r.To, r.FromSlot)));
    }

    /// <summary>
    /// Found by a cold review (helper-75): an answer was matched to the request in flight by its peer alone, so once the
    /// first request had been asked again of the same peer, each late answer cleared the request sent after the answer
    /// before it, and the learner stayed two requests deep to the end, every slot fetched twice.
    /// </summary>
    [Fact]
    public void An_answer_to_a_request_asked_again_of_the_same_peer_does_not_clear_the_request_sent_after_the_first_answer()
    {
        var (replica, take) = Learner();
        var inFlight = new List<(int Due, long From)>();
        var asked = new List<(int Tick, long From)>();
        void Collect(int tick)
        {
            foreach (var request in take().OfType<CatchUpRequest>())
            {
                asked.Add((tick, request.FromSlot));
                inFlight.Add((tick + 6, request.FromSlot));
            }
        }

        // Peer 3 answers every request 6 ticks after it was sent, with 10 slots; only 3 heartbeats.
        replica.Step(new Heartbeat(3, 1, new Ballot(1, 3), true, 60, 0, 0));
        Collect(0);
        for (var tick = 1; tick <= 40 && replica.CommitIndex < 60; tick++)
        {
            replica.Tick();
            replica.Step(new Heartbeat(3, 1, new Ballot(1, 3), true, 60, 0, 0));
            Collect(tick);
            foreach (var due in inFlight.Where(f => f.Due == tick).ToList())
            {
                inFlight.Remove(due);
                replica.Step(new CatchUpReply(3, 1, Entries(due.From, Math.Min(60, due.From + 9)), 60));
                Collect(tick);
            }
        }

        Assert.Equal(60, replica.CommitIndex);
        Assert.Equal([(0, 1L), (4, 1L), (6, 11L), (12, 21L), (18, 31L), (24, 41L), (30, 51L)], asked);
    }

    [Fact]
    public void A_request_left_unanswered_is_asked_again_of_another_peer_ahead_even_when_the_silent_one_is_heard_first()
    {
        var (replica, take) = Learner();
        replica.Step(new Heartbeat(3, 1, new Ballot(1, 3), true, 40, 0, 0));
        take();

        // Peer 3 (the leader) is heard every tick but answers nothing; its heartbeat comes before peer 2's.
        var asked = new List<(int Tick, int To)>();
        for (var tick = 1; tick <= 4; tick++)
        {
            replica.Tick();
            replica.Step(new Heartbeat(3, 1, new Ballot(1, 3), true, 40, 0, 0));
            asked.AddRange(take().OfType<CatchUpRequest>().Select(r => (tick, r.To)));
            replica.Step(new Heartbeat(2, 1, new Ballot(1, 3), false, 40, 0, 0));
            asked.AddRange(take().OfType<CatchUpRequest>().Select(r => (tick, r.To)));
        }

        Assert.Equal([(4, 2)], asked);
    }

    private static List<ChosenEntry> Entries(long first, long last) =>
        [.. Enumerable.Range((int)first, (int)(last - first + 1)).Select(slot => new ChosenEntry(slot, [[(byte)slot]]))];

    private static (Replica Replica, Func<List<Message>> Take) Learner()
    {
        var replica = new Replica(new ReplicaOptions { Id = 1, Members = [1, 2, 3], RetransmitTicks = 4 }, new SeededRandom(1));
        return (replica, () =>
        {
            var ready = replica.TakeReady();
            replica.Persisted(ready.Number);
            return ready.Messages;
        });
    }
}
