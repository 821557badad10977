namespace Synod.Client;

/// <summary>
/// A write named a lease that does not exist (never granted, revoked or expired): nothing of it was applied. A
/// session whose lease ended reports it through <see cref="SynodSession.Lost"/>.
/// </summary>
public sealed class SynodLeaseNotFoundException(string message, Exception? innerException = null) : SynodException(message, innerException);
