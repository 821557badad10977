namespace Synod.Explorer;

/// <summary>While <see cref="StateHasher"/> walks an object: the clock of the replica it is in (null outside one), and whether the value at hand is a tick to hash as an age.</summary>
internal readonly record struct HashClock(long HorizonTicks, long? Now, bool IsAge);
