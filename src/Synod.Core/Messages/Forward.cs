namespace Synod.Core.Messages;

/// <summary>Client commands that reached a follower, passed on to the leader it knows.</summary>
public sealed record Forward(int From, int To, IReadOnlyList<byte[]> Commands) : Message(From, To);
