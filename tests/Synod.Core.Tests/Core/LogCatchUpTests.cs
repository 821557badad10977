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
