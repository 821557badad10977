using System.Runtime;
using Microsoft.Extensions.Logging;

namespace Synod.Server;

/// <summary>
/// The garbage collector's mode for a replica process, chosen from the size of its collected heap. Blocking full
/// collections (<see cref="GCLatencyMode.Batch"/>) are the fastest while the heap is small; with millions of keys a
/// blocking full collection stops the whole process for 0.4-2.1 s on two cores (marking every key's arrays), long
/// enough for a leader to lose its quorum. Past <see cref="ServerOptions.BackgroundGcHeapBytes"/> the replica switches
/// to <see cref="GCLatencyMode.SustainedLowLatency"/>: the oldest generation is marked in the background and blocking
/// full collections are avoided (a compacting one still comes now and then), and back to blocking ones below half of
/// it. Measured at 2.75M keys it cost a leader far less often and the worst run less, and the quiet runs' p99 was
/// about 1.7× (the 128 MiB gen0 budget in this mode; docs/performance.md, "The collector in the background at a
/// large heap"). The process must run with the concurrent collector enabled (the synod executable's runtime
/// configuration does), or background collections never happen whatever the mode.
/// </summary>
public static class CollectorMode
{
    /// <summary>How often the heap's size is read (the size after the last collection, which the runtime keeps).</summary>
    public const int CheckEveryMs = 1_000;

    /// <summary>
    /// Whether full collections should run in the background at <paramref name="heapBytes"/>: from the threshold up,
    /// and, once switched, until the heap falls below half of it, so that a heap near the threshold does not flip the
    /// mode at every check. A threshold of 0 always gives true.
    /// </summary>
    public static bool ShouldCollectInBackground(long heapBytes, long thresholdBytes, bool background) =>
        heapBytes >= (background ? thresholdBytes / 2 : thresholdBytes);

    /// <summary>Whether full collections may run in the background now: the mode allows it and the runtime has the concurrent collector.</summary>
    public static bool Background => GCSettings.LatencyMode != GCLatencyMode.Batch && ConcurrentCollectorEnabled;

    /// <summary>Whether the runtime has the concurrent collector (System.GC.Concurrent, on in the synod executable).</summary>
    public static bool ConcurrentCollectorEnabled { get; } =
        GC.GetConfigurationVariables().TryGetValue("ConcurrentGC", out var value) && value is true;

    /// <summary>
    /// Blocking collections from now on: what a replica process starts with, before its state is loaded.
    /// </summary>
    public static void StartBlocking() => GCSettings.LatencyMode = GCLatencyMode.Batch;

    /// <summary>
    /// Starts with blocking collections, then reads the heap's size every <see cref="CheckEveryMs"/> and switches the
    /// mode when <see cref="ShouldCollectInBackground"/> says so, with a log line each time, until
    /// <paramref name="cancellation"/>. One loop per process (the mode is the process's): a second call while one runs
    /// returns at once. Never throws: a failure is logged and ends the switching, not the replica.
    /// </summary>
    public static async Task RunAsync(long thresholdBytes, ILogger logger, CancellationToken cancellation)
    {
        if (Interlocked.Exchange(ref _running, 1) == 1)
        {
            return;
        }

        try
        {
            StartBlocking();
            await SwitchAsync(thresholdBytes, logger, cancellation);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogError(e, "the garbage collector's mode is no longer switched (--background-gc-heap-bytes): {Message}", e.Message);
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    private static int _running;

    private static async Task SwitchAsync(long thresholdBytes, ILogger logger, CancellationToken cancellation)
    {
        var warned = false;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(CheckEveryMs));
        do
        {
            var heapBytes = GC.GetGCMemoryInfo().HeapSizeBytes;
            var background = GCSettings.LatencyMode != GCLatencyMode.Batch;
            var wanted = ShouldCollectInBackground(heapBytes, thresholdBytes, background);
            if (wanted == background)
            {
                continue;
            }

            if (wanted)
            {
                GCSettings.LatencyMode = GCLatencyMode.SustainedLowLatency;
                if (GCSettings.LatencyMode != GCLatencyMode.SustainedLowLatency || !ConcurrentCollectorEnabled)
                {
                    // The runtime keeps Batch without the concurrent collector: say so once, not every second.
                    GCSettings.LatencyMode = GCLatencyMode.Batch;
                    if (!warned)
                    {
                        logger.LogWarning("the collected heap is {Heap} MiB, past --background-gc-heap-bytes ({Threshold} MiB), but this runtime has no concurrent collector (System.GC.Concurrent is off): full collections still stop the replica.",
                            heapBytes >> 20, thresholdBytes >> 20);
                        warned = true;
                    }

                    continue;
                }

                logger.LogInformation("the collected heap is {Heap} MiB, past --background-gc-heap-bytes ({Threshold} MiB): full collections now run in the background, so they no longer stop the replica for seconds.",
                    heapBytes >> 20, thresholdBytes >> 20);
            }
            else
            {
                GCSettings.LatencyMode = GCLatencyMode.Batch;
                logger.LogInformation("the collected heap is {Heap} MiB, below half of --background-gc-heap-bytes ({Threshold} MiB): blocking full collections again (the faster kind for a small heap).",
                    heapBytes >> 20, thresholdBytes >> 20);
            }
        }
        while (await WaitAsync(timer, cancellation));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken cancellation)
    {
        try
        {
            return await timer.WaitForNextTickAsync(cancellation);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
