namespace Synod.Server;

/// <summary>
/// The deadlines of clients' requests, as one cancellation per <see cref="BucketMs"/> of due time shared by every request
/// due within it. A source and a timer of their own for each request (linked to the caller's) cost a busy leader about a
/// tenth of what it allocates per write and a lock of the timer queue twice; a shared one costs a lookup. A request is
/// cancelled up to <see cref="BucketMs"/> after its due time, never before.
/// </summary>
internal sealed class RequestDeadlines
{
    /// <summary>How far apart due times may be and still share a cancellation, in milliseconds.</summary>
    public const int BucketMs = 50;

    private readonly Lock _lock = new();
    private readonly Dictionary<long, CancellationTokenSource> _buckets = [];
    private readonly Func<long> _now;

    /// <summary>The bucket handed out last: most requests carry the same wait, so most find theirs here without the lock.</summary>
    private volatile Bucket? _last;

    /// <param name="now">The clock in milliseconds (<see cref="Environment.TickCount64"/>; a test's own).</param>
    public RequestDeadlines(Func<long>? now = null) => _now = now ?? (static () => Environment.TickCount64);

    /// <summary>The number of shared cancellations not yet fired (for tests).</summary>
    public int Pending
    {
        get
        {
            lock (_lock)
            {
                return _buckets.Count;
            }
        }
    }

    /// <summary>A token cancelled once <paramref name="wait"/> has passed (and less than <see cref="BucketMs"/> more).</summary>
    public CancellationToken After(TimeSpan wait)
    {
        var now = _now();
        var bucket = (now + Math.Max(0, (long)Math.Ceiling(wait.TotalMilliseconds)) + BucketMs - 1) / BucketMs;
        // A bucket still due lies ahead of now, so its cancellation has not fired: the one kept here is good to share.
        if (_last is { } last && last.Index == bucket)
        {
            return last.Token;
        }

        lock (_lock)
        {
            if (_buckets.TryGetValue(bucket, out var shared))
            {
                _last = new Bucket(bucket, shared.Token);
                return shared.Token;
            }

            var source = new CancellationTokenSource(TimeSpan.FromMilliseconds(Math.Max(1, (bucket * BucketMs) - now)));
            _buckets[bucket] = source;
            // Fired, it is forgotten: its timer is gone with it, and nothing is left to dispose.
            source.Token.UnsafeRegister(static state => ((Forget)state!).Run(), new Forget(this, bucket, source));
            _last = new Bucket(bucket, source.Token);
            return source.Token;
        }
    }

    private sealed record Bucket(long Index, CancellationToken Token);

    private sealed class Forget(RequestDeadlines deadlines, long bucket, CancellationTokenSource source)
    {
        public void Run()
        {
            lock (deadlines._lock)
            {
                if (deadlines._buckets.TryGetValue(bucket, out var kept) && kept == source)
                {
                    deadlines._buckets.Remove(bucket);
                }
            }
        }
    }
}
