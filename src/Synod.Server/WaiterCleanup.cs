namespace Synod.Server;

/// <summary>Drops waiters whose requests already gave up, so abandoned writes do not pile up.</summary>
internal static class WaiterCleanup
{
    public static void RemoveAllCompleted<TKey, TValue>(this Dictionary<TKey, List<TaskCompletionSource<TValue>>> waiters)
        where TKey : notnull
    {
        foreach (var key in waiters.Keys.ToList())
        {
            var list = waiters[key];
            list.RemoveAll(w => w.Task.IsCompleted);
            if (list.Count == 0)
            {
                waiters.Remove(key);
            }
        }
    }
}
