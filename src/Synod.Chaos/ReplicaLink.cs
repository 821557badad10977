namespace Synod.Chaos;

/// <summary>The traffic one replica sends to another: replica <see cref="From"/>'s connection to <see cref="To"/>.</summary>
public readonly record struct ReplicaLink(int From, int To)
{
    public override string ToString() => $"{From}->{To}";
}
