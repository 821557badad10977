using Synod.Storage;

namespace Synod.Tests.Storage;

/// <summary>
/// Work that reads an array while its bytes still arrive (a learner's restore of a snapshot whose chunks are coming):
/// it waits for the bytes it asks for, ends when given up, and hands over what it made or threw. Stepped (the
/// simulator), each call of the owner returns only once the work waits for bytes not yet in, or has ended.
/// </summary>
public sealed class ArrivingWorkTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public void Stepped_the_work_has_read_all_it_can_whenever_the_owner_goes_on()
    {
        var asked = new List<(int End, int Arrived)>();
        var work = ArrivingWork<string>.Start(arrived: 3, wait =>
        {
            foreach (var end in new[] { 2, 5, 9, 10 })
            {
                asked.Add((end, wait(end)));
            }

            return "made";
        }, stepped: true);

        // Each step: the work went as far as the bytes in allowed, and now waits for more.
        Assert.Equal([(2, 3)], asked);
        work.Arrived(6);
        Assert.Equal([(2, 3), (5, 6)], asked);
        work.Arrived(8);
        Assert.Equal([(2, 3), (5, 6)], asked);
        Assert.Equal("made", work.Result(length: 10));
        Assert.Equal([(2, 3), (5, 6), (9, 10), (10, 10)], asked);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Given_up_the_work_ends_at_its_wait_without_the_bytes_it_asked_for(bool stepped)
    {
        using var ended = new ManualResetEventSlim();
        Exception? seen = null;
        var work = ArrivingWork<string>.Start(arrived: 0, wait =>
        {
            try
            {
                wait(100);
                return "read bytes that never came";
            }
            catch (OperationCanceledException e)
            {
                seen = e;
                throw;
            }
            finally
            {
                ended.Set();
            }
        }, stepped);

        work.Abandon();

        Assert.True(ended.Wait(Patience), "the work did not end once given up");
        Assert.IsType<OperationCanceledException>(seen);
    }

    [Fact]
    public void What_the_work_threw_is_thrown_to_the_owner_as_it_was()
    {
        var work = ArrivingWork<string>.Start(arrived: 0, wait =>
        {
            wait(4);
            throw new InvalidDataException("key #3 out of order");
        }, stepped: false);

        var thrown = Assert.Throws<InvalidDataException>(() => work.Result(length: 4));

        Assert.Equal("key #3 out of order", thrown.Message);
    }

    [Fact]
    public void On_its_own_thread_the_work_goes_on_as_bytes_arrive_and_the_result_waits_for_it()
    {
        var work = ArrivingWork<int[]>.Start(arrived: 0, wait =>
        {
            var seen = new int[5];
            for (var i = 0; i < seen.Length; i++)
            {
                seen[i] = wait((i + 1) * 10);
            }

            return seen;
        }, stepped: false);

        for (var arrived = 1; arrived <= 50; arrived++)
        {
            work.Arrived(arrived);
        }

        var seen = work.Result(length: 50);
        Assert.All(seen.Select((got, i) => (got, i)), pair => Assert.InRange(pair.got, (pair.i + 1) * 10, 50));
    }
}
