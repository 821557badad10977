namespace Synod.Server;

/// <summary>
/// What one TLS handshake's certificate check found: the peer's identity when its certificate passed, or the reason
/// it did not. SslStream only learns "rejected" from the check, so the reason travels here to the log and the error.
/// </summary>
internal sealed class PeerTlsCheck
{
    public PeerIdentity? Identity { get; set; }

    public string? Problem { get; set; }
}
