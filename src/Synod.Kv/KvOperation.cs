namespace Synod.Kv;

/// <summary>What a <see cref="KvCommand"/> does. The numeric values are part of the wire encoding.</summary>
public enum KvOperation : byte
{
    /// <summary>Sets the key to the value, creating the key if needed.</summary>
    Put = 1,

    /// <summary>Removes the key; answered with <see cref="KvStatus.NotFound"/> if it did not exist.</summary>
    Delete = 2,
}
