using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Synod.Protocol.Peer;

namespace Synod.Server;

/// <summary>The receiving end of peers' streams: checks who is talking, decodes, and posts to the owner loop.</summary>
internal sealed class PeerService(ReplicaHost host, ServerOptions options, IHostApplicationLifetime lifetime, ILogger<PeerService> logger) : Peer.PeerBase
{
    public override async Task<PeerClose> Exchange(IAsyncStreamReader<PeerFrame> requestStream, ServerCallContext context)
    {
        // Peer streams never end on their own; end them when this replica stops, or shutdown would wait for them.
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        try
        {
            await ReadFramesAsync(requestStream, stopping.Token);
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            // Stopping.
        }

        return new PeerClose();
    }

    private async Task ReadFramesAsync(IAsyncStreamReader<PeerFrame> requestStream, CancellationToken cancellation)
    {
        await foreach (var frame in requestStream.ReadAllAsync(cancellation))
        {
            var from = (int)frame.From;
            if (!options.Endpoints.ContainsKey(from) || from == options.Id || frame.ClusterSize != options.Endpoints.Count)
            {
                throw new RpcException(new Status(StatusCode.PermissionDenied,
                    $"replica {options.Id} refuses a stream from replica {from} of a {frame.ClusterSize}-replica cluster: " +
                    $"this cluster has replicas {string.Join(",", options.Endpoints.Keys.Order())}. Check --peers on both sides."));
            }

            foreach (var pb in frame.Messages)
            {
                try
                {
                    host.PostFromPeer(new PeerInput(PeerMessageCodec.Decode(from, pb)));
                }
                catch (FormatException e)
                {
                    logger.LogWarning("replica {Id}: dropped a malformed message from replica {From}: {Reason}", options.Id, from, e.Message);
                }
            }
        }
    }
}
