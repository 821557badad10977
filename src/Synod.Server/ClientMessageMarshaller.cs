using Google.Protobuf;
using Grpc.Core;

namespace Synod.Server;

/// <summary>
/// Marshals the client API's protobuf messages like the generated code does, except that a request that does not
/// decode is answered INVALID_ARGUMENT with a sentence saying so. The generated marshaller lets the parser's
/// exception escape, which gRPC reports as UNKNOWN ("Exception was thrown by handler").
/// </summary>
internal static class ClientMessageMarshaller
{
    public static Marshaller<T> For<T>(MessageParser<T> parser)
        where T : IMessage<T> => new(
            (message, context) =>
            {
                context.SetPayloadLength(message.CalculateSize());
                message.WriteTo(context.GetBufferWriter());
                context.Complete();
            },
            context =>
            {
                try
                {
                    return parser.ParseFrom(context.PayloadAsReadOnlySequence());
                }
                catch (InvalidProtocolBufferException e)
                {
                    throw new RpcException(new Status(StatusCode.InvalidArgument,
                        $"the request is not a valid {typeof(T).Name} ({e.Message}); send the message that synod_kv.proto defines for this method."));
                }
            });
}
