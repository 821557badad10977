using Synod.Kv;

namespace Synod.Driver;

/// <summary>The applied result of a write, as the replica contacted saw it applied.</summary>
public sealed record WriteOutcome(KvStatus Status, long Slot, bool Duplicate, ulong RegisteredClientId = 0);
