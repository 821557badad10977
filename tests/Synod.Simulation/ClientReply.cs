namespace Synod.Simulation;

/// <summary>A replica's answer. Ok false means "not served here, try elsewhere" and nothing took effect through this attempt.</summary>
public sealed record ClientReply(int Client, long Attempt, bool Ok, string? Value, string Detail);
