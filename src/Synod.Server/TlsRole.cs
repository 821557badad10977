namespace Synod.Server;

/// <summary>The part a peer plays in a TLS handshake, which decides the key usage its certificate must allow.</summary>
public enum TlsRole
{
    /// <summary>The replica that dials: its certificate must allow client authentication.</summary>
    Client,

    /// <summary>The replica that receives the connection: its certificate must allow server authentication.</summary>
    Server,
}
