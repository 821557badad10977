namespace Synod.Chaos;

/// <summary>What a tool did last to a replica's process (<see cref="ReplicaProcess"/>) (not whether it answers: see <see cref="ReplicaHealth"/>).</summary>
public enum ReplicaRunState
{
    /// <summary>Not running: killed, wiped, or exited, and not started again yet.</summary>
    Down,

    Running,

    /// <summary>Stopped with SIGSTOP; it holds its sockets but answers nothing until SIGCONT.</summary>
    Paused,
}
