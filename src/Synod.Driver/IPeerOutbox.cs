using Synod.Core.Messages;

namespace Synod.Driver;

/// <summary>Sends the core's messages to its peers: the server's peer links, or the simulator's network.</summary>
public interface IPeerOutbox
{
    void Send(IReadOnlyList<Message> messages);
}
