namespace Synod.Server;

/// <summary>The kinds of peer-connection event that are logged at most once per interval each (<see cref="RateLimitedLog"/>).</summary>
internal enum PeerLogKind
{
    /// <summary>A connection sent part of a peer magic or of the HTTP/2 preface, then nothing.</summary>
    Unclassified,

    /// <summary>A client spoke plaintext HTTP/2 to a replica that serves clients over TLS only.</summary>
    PlaintextClient,

    /// <summary>PeerHandshakesMax handshakes were under way; a new one was closed at once.</summary>
    HandshakesFull,

    /// <summary>A handshake (TLS and hello) did not finish within PeerHandshakeTimeoutMs.</summary>
    HandshakeTimeout,

    /// <summary>The TLS handshake failed: no certificate, another CA, another cluster, an expired certificate.</summary>
    TlsRefused,

    /// <summary>The hello was refused: not a member, another cluster size, an id its certificate does not name, the wrong mode.</summary>
    HelloRefused,

    /// <summary>A new link from a replica closed its older one.</summary>
    Replaced,

    /// <summary>A framed message did not decode.</summary>
    MalformedMessage,

    /// <summary>A message broke a peer message rule (PeerMessageRules): nothing a correct replica sends.</summary>
    RuleBroken,

    /// <summary>A frame announced more than PeerMessageBytesMax.</summary>
    OversizedMessage,

    /// <summary>A frame that had begun did not complete within PeerFrameTimeoutMs.</summary>
    FrameTimeout,
}
