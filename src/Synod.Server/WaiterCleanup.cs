namespace Synod.Server;

/// <summary>Drops waiters whose requests already gave up, so abandoned writes do not pile up.</summary>
internal static class WaiterCleanup
{
    public static void RemoveAllCompleted<TKey>(this Dictionary<TKey, PendingWrite> writes)
        where TKey : notnull
    {
        foreach (var key in writes.Keys.ToList())
        {
            var waiters = writes[key].Waiters;
            waiters.RemoveAll(w => w.Task.IsCompleted);
            if (waiters.Count == 0)
            {
                writes.Remove(key);
            }
        }
    }
}
