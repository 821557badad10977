using System.Runtime.ExceptionServices;

namespace Synod.Storage;

/// <summary>
/// Work that reads an array while its bytes still arrive, on a thread of its own: a learner's restore of a snapshot
/// whose chunks are still coming (the replica driver's <c>RestoredAhead.StartArriving</c>). The owner says how many
/// bytes from the start are in and will not be written again (<see cref="Arrived"/>); the work waits for the bytes it
/// reads next through the function it is given. <paramref name="stepped"/> (the simulator): every call of the owner
/// returns only once the work waits for bytes not yet in, or has ended, so that the work reads what it would at that
/// point of a run, the same every time.
/// </summary>
/// <typeparam name="T">What the work makes.</typeparam>
public sealed class ArrivingWork<T>
    where T : class
{
    private readonly object _gate = new(); // Monitor's, for Wait and PulseAll
    private readonly bool _stepped;
    private int _arrived;
    private int _waitingFor = -1;
    private bool _abandoned;
    private bool _done;
    private T? _result;
    private ExceptionDispatchInfo? _failure;

    private ArrivingWork(int arrived, bool stepped)
    {
        _arrived = arrived;
        _stepped = stepped;
    }

    /// <summary>
    /// Starts <paramref name="work"/> with <paramref name="arrived"/> bytes in. The work's function, given a length,
    /// returns once that many bytes are in, with how many are; it throws <see cref="OperationCanceledException"/> once
    /// the work is given up.
    /// </summary>
    public static ArrivingWork<T> Start(int arrived, Func<Func<int, int>, T> work, bool stepped)
    {
        var arriving = new ArrivingWork<T>(arrived, stepped);

        // Its own thread rather than the pool's: it may wait for seconds, and the pool's threads serve requests.
        Task.Factory.StartNew(() => arriving.Run(work), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        lock (arriving._gate)
        {
            arriving.Settle();
        }

        return arriving;
    }

    /// <summary>The first <paramref name="arrived"/> bytes are in and will not be written again.</summary>
    public void Arrived(int arrived)
    {
        lock (_gate)
        {
            if (arrived <= _arrived)
            {
                return;
            }

            _arrived = arrived;
            Monitor.PulseAll(_gate);
            Settle();
        }
    }

    /// <summary>Gives the work up: it ends at its next wait (stepped, before this returns).</summary>
    public void Abandon()
    {
        lock (_gate)
        {
            _abandoned = true;
            Monitor.PulseAll(_gate);
            while (_stepped && !_done)
            {
                Monitor.Wait(_gate);
            }
        }
    }

    /// <summary>What the work made once all <paramref name="length"/> bytes are in; throws what the work threw.</summary>
    public T Result(int length)
    {
        Arrived(length);
        lock (_gate)
        {
            while (!_done)
            {
                Monitor.Wait(_gate);
            }
        }

        _failure?.Throw();
        return _result!;
    }

    private void Run(Func<Func<int, int>, T> work)
    {
        T? result = null;
        ExceptionDispatchInfo? failure = null;
        try
        {
            result = work(WaitFor);
        }
        catch (Exception e)
        {
            failure = ExceptionDispatchInfo.Capture(e);
        }

        lock (_gate)
        {
            (_result, _failure, _done) = (result, failure, true);
            Monitor.PulseAll(_gate);
        }
    }

    private int WaitFor(int end)
    {
        lock (_gate)
        {
            while (_arrived < end && !_abandoned)
            {
                _waitingFor = end;
                Monitor.PulseAll(_gate);
                Monitor.Wait(_gate);
            }

            _waitingFor = -1;
            return _abandoned ? throw new OperationCanceledException("The work was given up: the bytes it read will not all arrive.") : _arrived;
        }
    }

    /// <summary>Stepped, waits until the work waits for bytes not yet in, or has ended.</summary>
    private void Settle()
    {
        while (_stepped && !_done && _waitingFor <= _arrived)
        {
            Monitor.Wait(_gate);
        }
    }
}
