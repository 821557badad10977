using Synod.Storage;
namespace Synod.Simulation;

/// <summary>
/// Thrown by a <see cref="SimulatedDisk"/> operation that <see cref="SimulatedDisk.CrashAfterOperations"/> chose as the
/// instant of a crash: the operation did not happen, and the caller should call <see cref="SimulatedDisk.Crash"/> and restart.
/// </summary>
public sealed class SimulatedCrashException(string message) : Exception(message);
