namespace Synod.Server;

/// <summary>
/// Where a folder made by <see cref="PeerCertificates"/> keeps each file: <c>ca.pem</c>, <c>ca-key.pem</c>,
/// <c>replica-N.pem</c> and <c>replica-N-key.pem</c>.
/// </summary>
public sealed record PeerCertificateFiles(string Directory)
{
    public string Authority => Path.Combine(Directory, "ca.pem");

    public string AuthorityKey => Path.Combine(Directory, "ca-key.pem");

    public string Certificate(int id) => Path.Combine(Directory, $"replica-{id}.pem");

    public string Key(int id) => Path.Combine(Directory, $"replica-{id}-key.pem");

    /// <summary>The `synod serve` flags that give replica <paramref name="id"/> its certificate, its key and the CA.</summary>
    public IReadOnlyList<string> ServeArgs(int id) => ["--peer-cert", Certificate(id), "--peer-key", Key(id), "--peer-ca", Authority];
}
