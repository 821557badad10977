using Synod.Kv;

namespace Synod.Driver;

/// <summary>
/// A restore of a snapshot still arriving, as the host runs it (<see cref="RestoredAhead.StartArriving"/>): the driver
/// says how many bytes of the core's array are in (<paramref name="Arrived"/>), gives it up with its transfer
/// (<paramref name="Abandon"/>), or takes the state machine once all <c>length</c> bytes are (<paramref name="Result"/>,
/// which throws what the restore threw).
/// </summary>
public sealed record ArrivingRestore(Action<int> Arrived, Action Abandon, Func<int, KvStateMachine> Result);
