namespace Synod.Storage;

/// <summary>A payload whose checksum matched does not decode: thrown inside the decoder, caught by the scanner.</summary>
internal sealed class MalformedRecordException(string message) : Exception(message);
