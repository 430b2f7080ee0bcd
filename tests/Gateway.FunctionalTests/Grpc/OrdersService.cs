using Grpc.Core;

namespace Gateway.FunctionalTests.Grpc;

/// <summary>The upstream's implementation of orders.proto: every call ends with custom trailers the client must see.</summary>
public sealed class OrdersService(OrdersState state) : Orders.OrdersBase
{
    public const string TextTrailer = "x-orders-trailer";

    /// <summary>A binary trailer (the "-bin" suffix: base64 on the wire), so the gateway must carry it unchanged.</summary>
    public const string BinaryTrailer = "x-orders-checksum-bin";

    public static readonly byte[] Checksum = [0x00, 0xFF, 0x10, 0x80, 0x7F];

    public override Task<Order> GetOrder(GetOrderRequest request, ServerCallContext context)
    {
        state.Protocols.Enqueue(context.GetHttpContext().Request.Protocol);
        if (request.Id.StartsWith("missing", StringComparison.Ordinal))
        {
            // Before any message, so Grpc.AspNetCore answers "trailers-only": status and trailers in the response headers.
            throw new RpcException(new Status(StatusCode.NotFound, $"order {request.Id} does not exist"), new Metadata { { TextTrailer, "lookup:" + request.Id } });
        }

        context.ResponseTrailers.Add(TextTrailer, "unary:" + request.Id);
        context.ResponseTrailers.Add(BinaryTrailer, Checksum);
        return Task.FromResult(new Order { Id = request.Id, ServedBy = state.Name });
    }

    public override async Task ListOrders(ListOrdersRequest request, IServerStreamWriter<Order> responseStream, ServerCallContext context)
    {
        state.Protocols.Enqueue(context.GetHttpContext().Request.Protocol);
        for (var i = 1; i <= request.Count; i++)
        {
            bool released;
            try
            {
                released = i == 1 || !request.Paced || await state.NextMessage.WaitAsync(TimeSpan.FromSeconds(30), context.CancellationToken);
            }
            catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
            {
                state.CallCancelled.TrySetResult();
                throw;
            }

            if (!released)
            {
                throw new RpcException(new Status(StatusCode.DeadlineExceeded, $"message {i - 1} was never acknowledged by the test"));
            }

            await responseStream.WriteAsync(new Order { Id = $"order-{i}", Sequence = i, ServedBy = state.Name });
        }

        context.ResponseTrailers.Add(TextTrailer, $"stream:{request.Count}");
        context.ResponseTrailers.Add(BinaryTrailer, Checksum);
    }
}
