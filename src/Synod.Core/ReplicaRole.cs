namespace Synod.Core;

public enum ReplicaRole
{
    Follower,
    Candidate,
    Leader,
}
