namespace Synod.Server;

/// <summary>What the first bytes on the listen port say a connection is (<see cref="PeerWire.Classify"/>).</summary>
internal enum ConnectionKind
{
    /// <summary>A strict beginning of a peer magic or of the HTTP/2 preface: wait for more.</summary>
    NeedMore,

    /// <summary>A peer's plaintext hello (--insecure-peers).</summary>
    PlainPeer,

    /// <summary>A peer announcing a TLS handshake.</summary>
    TlsPeer,

    /// <summary>A Synod peer magic of another version: a replica of another Synod build.</summary>
    OtherPeerVersion,

    /// <summary>The whole HTTP/2 client preface: a client.</summary>
    Http2,

    /// <summary>Neither; Kestrel decides what to do with it.</summary>
    Other,
}
