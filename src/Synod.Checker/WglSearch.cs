using System.Numerics;

namespace Synod.Checker;

/// <summary>
/// The Wing–Gong search with Lowe's cache, as Porcupine runs it, for one key's register.
/// </summary>
/// <remarks>
/// Calls and returns sit in one doubly linked list ordered by time. The search walks it from the head,
/// linearizing any pending call the model accepts and lifting the call and its return out of the list.
/// Reaching a return whose call is not yet linearized means the current choice is wrong, so the search
/// puts back the most recent linearized call and tries the next one. A configuration already explored
/// (the same set of linearized operations with the same register state) is never explored again, which
/// is what keeps the search from being exponential on histories with little concurrency.
///
/// A write with an unknown outcome is optional, so any linearization can be rewritten so that each such
/// write that takes effect is immediately followed by a get that reads its value (one followed by
/// another write can be dropped). The search therefore linearizes an unknown write only when such a get
/// could come next, and succeeds once only unknown writes pending until +infinity remain.
/// </remarks>
internal sealed class WglSearch
{
    private const int Head = 0;
    private const int None = -1;

    // A power of two, so the deadline check is a mask; reading the clock every step would dominate. The
    // clock is read on the first step too, so a spent budget stops every search at once.
    private const long DeadlineCheckIntervalSteps = 1024;

    // Proving a history with much concurrency not linearizable explores many configurations; past this
    // the search gives up rather than exhaust the machine's memory.
    private const long CacheBytesMax = 1L << 30;

    private readonly KeyHistory _history;
    private readonly int[] _next;
    private readonly int[] _prev;
    private readonly int[] _match;
    private readonly int[] _opOf;
    private readonly bool[] _isCall;
    private readonly ulong[] _linearized;
    private readonly ulong[] _opHashes;
    private readonly HashSet<CacheEntry> _cache = new(CacheEntryComparer.Instance);
    private readonly int[] _stackEntries;
    private readonly int[] _stackStates;
    private int _stackCount;
    private ulong _linearizedHash;
    private int _lowestUnlinearized;
    private int _highestWord = -1;
    private long _cacheBytes;

    private WglSearch(KeyHistory history)
    {
        _history = history;
        var entryCount = (2 * history.Count) + 1;
        _next = new int[entryCount];
        _prev = new int[entryCount];
        _match = new int[entryCount];
        _opOf = new int[entryCount];
        _isCall = new bool[entryCount];
        _linearized = new ulong[(history.Count + 63) / 64];
        _opHashes = new ulong[history.Count];
        _stackEntries = new int[history.Count];
        _stackStates = new int[history.Count];
        for (var op = 0; op < history.Count; op++)
        {
            _opHashes[op] = Mix((ulong)op + 1);
        }
        LinkEntries();
    }

    public static SearchVerdict Run(KeyHistory history, SearchLimits limits) => new WglSearch(history).Search(limits);

    private SearchVerdict Search(SearchLimits limits)
    {
        var state = KeyHistory.AbsentValueId;
        var entry = _next[Head];
        long steps = 0;
        while (_next[Head] != None)
        {
            steps++;
            if (steps > limits.StepsMax
                || _cacheBytes > CacheBytesMax
                || ((steps & (DeadlineCheckIntervalSteps - 1)) == 1 && limits.IsPastDeadline))
            {
                return SearchVerdict.GaveUp;
            }
            if (_isCall[entry])
            {
                entry = TryLinearize(entry, ref state) ? _next[Head] : _next[entry];
            }
            else if (double.IsPositiveInfinity(_history.ReturnTimes[_opOf[entry]]))
            {
                // Returns at +infinity sort last, so every operation that had to take effect has done so.
                return SearchVerdict.Linearizable;
            }
            else if (_stackCount == 0)
            {
                // Every way of ordering the operations before this return has failed.
                return SearchVerdict.NotLinearizable;
            }
            else
            {
                entry = Backtrack(ref state);
            }
        }
        return SearchVerdict.Linearizable;
    }

    private bool TryLinearize(int entry, ref int state)
    {
        var op = _opOf[entry];
        var newState = _history.ValueIds[op];
        var expect = _history.ExpectIds[op];
        if (expect != KeyHistory.NoExpect)
        {
            // A compare-and-swap: one that swapped (or may have) needs the state it expects; one whose compare
            // failed needs any other, and leaves it.
            if (_history.IsWrite[op] ? state != expect : state == expect)
            {
                return false;
            }
            if (!_history.IsWrite[op])
            {
                newState = state;
            }
        }
        else if (!_history.IsWrite[op] && newState != state)
        {
            return false;
        }
        if (_history.IsOptional[op] && !_history.HasCas && !HasReaderReady(entry, newState))
        {
            return false;
        }
        MarkLinearized(op);
        var wordLo = _lowestUnlinearized >> 6;
        var probe = CacheEntry.Probe(
            _linearized, wordLo, Math.Max(0, _highestWord - wordLo + 1), newState, Combine(_linearizedHash, newState));
        if (_cache.Contains(probe))
        {
            UnmarkLinearized(op);
            return false;
        }
        var owned = probe.ToOwned();
        _cache.Add(owned);
        _cacheBytes += owned.OwnedBytes;
        _stackEntries[_stackCount] = entry;
        _stackStates[_stackCount] = state;
        _stackCount++;
        state = newState;
        Lift(entry);
        return true;
    }

    /// <summary>Undoes the most recent linearization and returns the entry to try after it.</summary>
    private int Backtrack(ref int state)
    {
        _stackCount--;
        var entry = _stackEntries[_stackCount];
        state = _stackStates[_stackCount];
        UnmarkLinearized(_opOf[entry]);
        Unlift(entry);
        return _next[entry];
    }

    /// <summary>Whether a get of <paramref name="value"/> other than <paramref name="call"/> could be linearized next.</summary>
    private bool HasReaderReady(int call, int value)
    {
        for (var entry = _next[Head]; entry != None && _isCall[entry]; entry = _next[entry])
        {
            var op = _opOf[entry];
            if (entry != call && !_history.IsWrite[op] && _history.ValueIds[op] == value)
            {
                return true;
            }
        }
        return false;
    }

    private void MarkLinearized(int op)
    {
        _linearized[op >> 6] |= 1UL << (op & 63);
        _linearizedHash ^= _opHashes[op];
        _highestWord = Math.Max(_highestWord, op >> 6);
        if (op == _lowestUnlinearized)
        {
            _lowestUnlinearized = FirstUnlinearizedFrom(op + 1);
        }
    }

    private void UnmarkLinearized(int op)
    {
        _linearized[op >> 6] &= ~(1UL << (op & 63));
        _linearizedHash ^= _opHashes[op];
        _lowestUnlinearized = Math.Min(_lowestUnlinearized, op);
        while (_highestWord >= 0 && _linearized[_highestWord] == 0)
        {
            _highestWord--;
        }
    }

    private int FirstUnlinearizedFrom(int op)
    {
        for (var word = op >> 6; word < _linearized.Length; word++)
        {
            var free = ~_linearized[word];
            if (word == op >> 6)
            {
                free &= ~0UL << (op & 63);
            }
            if (free != 0)
            {
                return Math.Min(_history.Count, (word << 6) + BitOperations.TrailingZeroCount(free));
            }
        }
        return _history.Count;
    }

    private void Lift(int call)
    {
        // A call's return always follows it, so the call's successor exists.
        _next[_prev[call]] = _next[call];
        _prev[_next[call]] = _prev[call];
        var ret = _match[call];
        _next[_prev[ret]] = _next[ret];
        if (_next[ret] != None)
        {
            _prev[_next[ret]] = _prev[ret];
        }
    }

    private void Unlift(int call)
    {
        var ret = _match[call];
        _next[_prev[ret]] = ret;
        if (_next[ret] != None)
        {
            _prev[_next[ret]] = ret;
        }
        _next[_prev[call]] = call;
        _prev[_next[call]] = call;
    }

    private void LinkEntries()
    {
        var order = SortEntries(_history);
        var callEntryOf = new int[_history.Count];
        for (var i = 0; i < order.Length; i++)
        {
            var entry = i + 1;
            var op = order[i] >> 1;
            _opOf[entry] = op;
            _isCall[entry] = (order[i] & 1) == 0;
            if (_isCall[entry])
            {
                callEntryOf[op] = entry;
            }
            else
            {
                _match[callEntryOf[op]] = entry;
            }
            _prev[entry] = entry - 1;
            _next[entry] = entry == order.Length ? None : entry + 1;
        }
        _next[Head] = order.Length == 0 ? None : 1;
        _prev[Head] = None;
    }

    /// <summary>
    /// Orders the entries by time, each encoded as operation * 2 + (1 for a return). At equal times calls
    /// come first, so operations that merely touch are treated as concurrent, as Porcupine does.
    /// </summary>
    private static int[] SortEntries(KeyHistory history)
    {
        var order = new int[2 * history.Count];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }
        Array.Sort(order, (a, b) =>
        {
            var timeA = (a & 1) == 0 ? history.CallTimes[a >> 1] : history.ReturnTimes[a >> 1];
            var timeB = (b & 1) == 0 ? history.CallTimes[b >> 1] : history.ReturnTimes[b >> 1];
            var byTime = timeA.CompareTo(timeB);
            if (byTime != 0)
            {
                return byTime;
            }
            var byKind = (a & 1).CompareTo(b & 1);
            return byKind != 0 ? byKind : a.CompareTo(b);
        });
        return order;
    }

    private static ulong Combine(ulong linearizedHash, int state) =>
        linearizedHash ^ Mix(0x9E3779B97F4A7C15UL ^ (uint)state);

    /// <summary>The SplitMix64 finalizer: spreads every input bit over the whole word.</summary>
    private static ulong Mix(ulong x)
    {
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}
