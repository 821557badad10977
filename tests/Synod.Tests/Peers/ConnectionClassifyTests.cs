using System.Buffers;
using System.Text;
using Synod.Server;

namespace Synod.Tests.Peers;

/// <summary>
/// The listen port tells peers from HTTP/2 clients by the first bytes (docs/protocol.md, "Peer connections"): a
/// strict beginning of a peer magic or of the HTTP/2 preface waits for more (within PeerHandshakeTimeoutMs); anything
/// else goes to Kestrel at once.
/// </summary>
public sealed class ConnectionClassifyTests
{
    [Theory]
    [InlineData("SYNODPR8\u0002\u0000\u0000\u0000", "PlainPeer")]
    [InlineData("SYNODPT8", "TlsPeer")]
    [InlineData("SYNODPT3", "OtherPeerVersion")]
    [InlineData("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\u0000\u0000", "Http2")]
    [InlineData("", "NeedMore")]
    [InlineData("SYNO", "NeedMore")]
    [InlineData("SYNODP", "NeedMore")]
    [InlineData("SYNODPR", "NeedMore")]
    [InlineData("PRI * HTTP/2.0\r\n", "NeedMore")]
    [InlineData("SYNODPX1", "OtherPeerVersion")]
    [InlineData("SYNODPT1", "OtherPeerVersion")]
    [InlineData("SYNODPR2\u0002", "OtherPeerVersion")]
    [InlineData("SYNODPT2", "OtherPeerVersion")]
    [InlineData("SYNODX", "Other")]
    [InlineData("GET / HTTP/1.1\r\n", "Other")]
    [InlineData("\u0016\u0003\u0001", "Other")]
    [InlineData("PRI * HTTP/1.1", "Other")]
    public void First_bytes_decide_what_a_connection_is(string head, string expected)
    {
        var bytes = Encoding.Latin1.GetBytes(head);

        Assert.Equal(Enum.Parse<ConnectionKind>(expected), PeerWire.Classify(new ReadOnlySequence<byte>(bytes)));
    }
}
