using System.Diagnostics;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;
using Grpc.Core;
using Grpc.Net.Client;

namespace Gateway.FunctionalTests.Grpc;

/// <summary>
/// A real gRPC client (Grpc.Net.Client) and server (Grpc.AspNetCore) with the gateway between them, configured as
/// docs/protocols.md's gRPC recipe says: unary and server-streaming calls, a NOT_FOUND status and custom trailers
/// arrive intact, over h2c and over TLS, and metrics count the error as a gRPC error.
/// </summary>
public sealed class GrpcTests(ITestOutputHelper output)
{
    private const string Route = "orders";

    [Fact]
    public async Task H2c_UnaryStreamingErrorAndTrailers_ArriveIntact()
    {
        await using var upstream = await GrpcUpstream.StartAsync("orders-h2c");
        var h2cPort = Ports.GetFree();
        await using var gateway = await StartGatewayAsync(GrpcConfig(upstream), H2cListener(h2cPort));
        using var channel = Channel($"http://127.0.0.1:{h2cPort}");

        await AssertCallsArriveIntactAsync(new Orders.OrdersClient(channel), upstream);
    }

    [Fact]
    public async Task Tls_UnaryStreamingErrorAndTrailers_ArriveIntact()
    {
        // TLS on both sides: the gateway's listener (HTTP/2 by ALPN) and the upstream, each with its own certificate.
        using var listenerCertificate = TestCertificate.Create("CN=gateway-listener");
        using var upstreamCertificate = TestCertificate.Create("CN=orders-upstream");
        await using var upstream = await GrpcUpstream.StartAsync("orders-tls", upstreamCertificate.Certificate);
        var certificates = Directory.CreateTempSubdirectory("gateway-grpc-tls-");
        try
        {
            var (certificatePath, keyPath) = listenerCertificate.WritePem(certificates.FullName);
            var tlsPort = Ports.GetFree();
            var config = GrpcConfig(upstream)
                .Set($"ReverseProxy:Clusters:{Route}:HttpClient:DangerousAcceptAnyServerCertificate", true);
            await using var gateway = await StartGatewayAsync(config, new Dictionary<string, string>
            {
                ["Kestrel__Endpoints__ProxyTls__Url"] = $"https://127.0.0.1:{tlsPort}",
                ["Kestrel__Endpoints__ProxyTls__Certificate__Path"] = certificatePath,
                ["Kestrel__Endpoints__ProxyTls__Certificate__KeyPath"] = keyPath,
            });
            using var channel = Channel($"https://127.0.0.1:{tlsPort}", listenerCertificate);

            await AssertCallsArriveIntactAsync(new Orders.OrdersClient(channel), upstream);
        }
        finally
        {
            certificates.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task H2cUpstream_WithoutTheHttpRequestBlock_IsSentHttp11_AndTheCallFails()
    {
        // YARP's default (HTTP/2 or lower) cannot negotiate h2c, so the call goes out as HTTP/1.1, which an HTTP/2-only
        // Kestrel answers 400 before any gRPC code runs: why the recipe's HttpRequest block is required for http:// destinations.
        await using var upstream = await GrpcUpstream.StartAsync("orders-h2c");
        var h2cPort = Ports.GetFree();
        var config = GrpcConfig(upstream).RemovePath($"ReverseProxy:Clusters:{Route}:HttpRequest");
        await using var gateway = await StartGatewayAsync(config, H2cListener(h2cPort));
        using var channel = Channel($"http://127.0.0.1:{h2cPort}");

        var error = await Assert.ThrowsAsync<RpcException>(() => new Orders.OrdersClient(channel).GetOrderAsync(new GetOrderRequest { Id = "o-1" }, deadline: Deadline()).ResponseAsync);

        Assert.Equal(StatusCode.Internal, error.StatusCode);
        Assert.Contains("HTTP status code: 400", error.Status.Detail, StringComparison.Ordinal);
        Assert.Empty(upstream.State.Protocols);
    }

    [Fact]
    public async Task GrpcStatuses_AreCountedInRequestMetrics_WithTheStatusTheClientSaw()
    {
        await using var upstream = await GrpcUpstream.StartAsync("orders-h2c");
        var h2cPort = Ports.GetFree();
        // Calls with the header "x-cluster: down" go to a cluster where nothing listens: the gateway answers 502 itself.
        var config = GrpcConfig(upstream)
            .Set("ReverseProxy:Routes:down", JsonNode.Parse("""
                { "ClusterId": "down", "Order": -1, "Match": { "Path": "/gateway.tests.orders.Orders/{**method}", "Headers": [ { "Name": "x-cluster", "Values": [ "down" ] } ] } }
                """))
            .Set("ReverseProxy:Clusters:down", JsonNode.Parse("""
                { "HttpRequest": { "Version": "2", "VersionPolicy": "RequestVersionExact" }, "Destinations": { "dead": { "Address": "http://127.0.0.1:1" } } }
                """));
        await using var gateway = await StartGatewayAsync(config, H2cListener(h2cPort));
        using var channel = Channel($"http://127.0.0.1:{h2cPort}");
        using var management = gateway.CreateManagementClient();
        var client = new Orders.OrdersClient(channel);

        Assert.Equal("o-1", (await client.GetOrderAsync(new GetOrderRequest { Id = "o-1" }, deadline: Deadline())).Id);
        Assert.Equal("o-2", (await client.GetOrderAsync(new GetOrderRequest { Id = "o-2" }, deadline: Deadline())).Id);
        var notFound = await Assert.ThrowsAsync<RpcException>(() => client.GetOrderAsync(new GetOrderRequest { Id = "missing-1" }, deadline: Deadline()).ResponseAsync);
        var unavailable = await Assert.ThrowsAsync<RpcException>(() =>
            client.GetOrderAsync(new GetOrderRequest { Id = "o-3" }, new Metadata { { "x-cluster", "down" } }, Deadline()).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, notFound.StatusCode);
        Assert.Equal(StatusCode.Unavailable, unavailable.StatusCode);

        // A gRPC error is an HTTP 200: status_class says 2xx, grpc_status says what the client got. The exporter caches a
        // scrape briefly, so poll until every call is in.
        string[] expected =
        [
            Series("orders", "orders-1", "OK", "2xx") + " 2",
            Series("orders", "orders-1", "NOT_FOUND", "2xx") + " 1",
            Series("down", "dead", "UNAVAILABLE", "5xx") + " 1",
        ];
        var metrics = string.Empty;
        await Wait.UntilAsync(
            async () =>
            {
                metrics = await management.GetStringAsync("/metrics");
                return expected.All(line => metrics.Contains(line, StringComparison.Ordinal));
            },
            TimeSpan.FromSeconds(15),
            () => "the gRPC calls in /metrics:\n" + string.Join('\n', metrics.Split('\n').Where(l => l.StartsWith("gateway_proxy_requests_total", StringComparison.Ordinal))),
            pollMs: 100);
        output.WriteLine(string.Join('\n', metrics.Split('\n').Where(l => l.StartsWith("gateway_proxy_requests_total", StringComparison.Ordinal))));
        // The duration histogram keeps its labels: grpc_status would multiply a gRPC route's bucket series by its codes.
        Assert.DoesNotContain(metrics.Split('\n'), l => l.StartsWith("gateway_proxy_request_duration_seconds", StringComparison.Ordinal) && l.Contains("grpc_status", StringComparison.Ordinal));
    }

    private static string Series(string cluster, string destination, string grpcStatus, string statusClass) =>
        $"gateway_proxy_requests_total{{otel_scope_name=\"Gateway\",cluster=\"{cluster}\",destination=\"{destination}\",grpc_status=\"{grpcStatus}\",method=\"POST\",route=\"{(cluster == "down" ? "down" : Route)}\",status_class=\"{statusClass}\"}}";

    /// <summary>Unary, paced server streaming, NOT_FOUND, and the custom trailers of each; every call reached the upstream over HTTP/2.</summary>
    private static async Task AssertCallsArriveIntactAsync(Orders.OrdersClient client, GrpcUpstream upstream)
    {
        using (var unary = client.GetOrderAsync(new GetOrderRequest { Id = "o-1" }, deadline: Deadline()))
        {
            var order = await unary.ResponseAsync;
            Assert.Equal("o-1", order.Id);
            Assert.Equal(upstream.State.Name, order.ServedBy);
            Assert.Equal(StatusCode.OK, unary.GetStatus().StatusCode);
            AssertTrailers(unary.GetTrailers(), "unary:o-1");
        }

        // Each message after the first is sent only once the client has read the one before: the gateway forwards
        // messages as they come, not the whole response at its end.
        using (var stream = client.ListOrders(new ListOrdersRequest { Count = 3, Paced = true }, deadline: Deadline()))
        {
            var sequences = new List<int>();
            while (await stream.ResponseStream.MoveNext(CancellationToken.None))
            {
                sequences.Add(stream.ResponseStream.Current.Sequence);
                if (sequences.Count < 3)
                {
                    upstream.State.NextMessage.Release();
                }
            }

            Assert.Equal([1, 2, 3], sequences);
            Assert.Equal(StatusCode.OK, stream.GetStatus().StatusCode);
            AssertTrailers(stream.GetTrailers(), "stream:3");
        }

        var error = await Assert.ThrowsAsync<RpcException>(() => client.GetOrderAsync(new GetOrderRequest { Id = "missing-7" }, deadline: Deadline()).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Equal("order missing-7 does not exist", error.Status.Detail);
        Assert.Equal("lookup:missing-7", error.Trailers.GetValue(OrdersService.TextTrailer));

        Assert.Equal(["HTTP/2", "HTTP/2", "HTTP/2"], upstream.State.Protocols);
    }

    [Fact]
    public async Task Sigterm_WithAStreamingCallOpen_EndsItWithUnavailableAtTheDeadline_ResetsTheUpstreamCall_AndExitsInTime()
    {
        await using var upstream = await GrpcUpstream.StartAsync("orders-drain");
        var h2cPort = Ports.GetFree();
        var environment = H2cListener(h2cPort);
        environment["Gateway__Shutdown__ReadinessDelay"] = "00:00:00.500";
        environment["Gateway__Shutdown__DrainTimeout"] = "00:00:02";
        environment["Gateway__Shutdown__PoolCloseTimeout"] = "00:00:00.500";
        await using var gateway = await StartGatewayAsync(GrpcConfig(upstream), environment);
        using var channel = Channel($"http://127.0.0.1:{h2cPort}");

        // A paced stream: its second message waits for the test, which never asks for it.
        using var call = new Orders.OrdersClient(channel).ListOrders(new ListOrdersRequest { Count = 10, Paced = true }, deadline: Deadline());
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(1, call.ResponseStream.Current.Sequence);

        var watch = Stopwatch.StartNew();
        gateway.Signal(GatewayProcess.SIGTERM);
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));
        var clientSaw = watch.Elapsed;
        await upstream.State.CallCancelled.Task.WaitAsync(TimeSpan.FromSeconds(15)); // the service saw its call reset
        Assert.Equal(0, await gateway.WaitForExitAsync(TimeSpan.FromSeconds(15)));
        var exited = watch.Elapsed;
        output.WriteLine($"client saw {error.StatusCode} after {clientSaw.TotalMilliseconds:F0} ms, exit after {exited.TotalMilliseconds:F0} ms\n{gateway.Output}");

        // A status clients retry elsewhere, with the gateway's reason; a cut connection would give INTERNAL or UNAVAILABLE without it.
        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Equal("The gateway closed the call (shutting down or retiring its connection pool); retry it", error.Status.Detail);
        // A gRPC call may end by itself, so it is waited for until the deadline (0.5 + 2 s), not closed early like a WebSocket.
        Assert.True(clientSaw >= TimeSpan.FromSeconds(0.5 + 2) - TimeSpan.FromMilliseconds(100), $"closed after {clientSaw.TotalSeconds:F1} s, before the deadline");
        // Deadline + 1 s, plus 1.5 s for process exit on a loaded 2-core box.
        Assert.True(exited < TimeSpan.FromSeconds(0.5 + 2 + 1 + 1.5), $"exit took {exited.TotalSeconds:F1} s");
        Assert.Contains("Drain phase 3 (deadline): 0 WebSockets closed with 1001 Going Away at both ends, 0 event streams ended, 1 gRPC calls ended with UNAVAILABLE; 0 streams did not finish", gateway.Output);
    }

    private static void AssertTrailers(Metadata trailers, string text)
    {
        Assert.Equal(text, trailers.GetValue(OrdersService.TextTrailer));
        Assert.Equal(OrdersService.Checksum, trailers.GetValueBytes(OrdersService.BinaryTrailer));
    }

    /// <summary>Every call has a deadline, so a gateway that holds a call fails the test instead of hanging it.</summary>
    private static DateTime Deadline() => DateTime.UtcNow.AddSeconds(30);

    /// <summary>
    /// Started, and listening on every endpoint: readiness (on the management listener) can answer before Kestrel has
    /// bound the endpoints configured after it, such as the extra listeners here.
    /// </summary>
    private static async Task<GatewayProcess> StartGatewayAsync(JsonObject config, Dictionary<string, string> environment)
    {
        var gateway = await GatewayProcess.StartAsync(config.ToJson(), environment);
        try
        {
            await gateway.WaitForLogAsync("Application started", TimeSpan.FromSeconds(30));
            // Every key of the recipe is one the config reader knows (event 1006 warns about any other).
            Assert.DoesNotContain(gateway.OutputLines, line => line.Contains("[1006]", StringComparison.Ordinal));
            return gateway;
        }
        catch
        {
            await gateway.DisposeAsync();
            throw;
        }
    }

    /// <summary>An extra, HTTP/2-only endpoint next to <c>Proxy</c> (h2c with prior knowledge), as docs/protocols.md shows.</summary>
    private static Dictionary<string, string> H2cListener(int port) => new()
    {
        ["Kestrel__Endpoints__ProxyH2c__Url"] = $"http://127.0.0.1:{port}",
        ["Kestrel__Endpoints__ProxyH2c__Protocols"] = "Http2",
    };

    /// <summary>The recipe: a route on the service's path, a cluster that speaks HTTP/2 to its destinations.</summary>
    private static JsonObject GrpcConfig(GrpcUpstream upstream) => new()
    {
        ["ReverseProxy"] = JsonNode.Parse($$"""
        {
          "Routes": {
            "{{Route}}": { "ClusterId": "{{Route}}", "Match": { "Path": "/gateway.tests.orders.Orders/{**method}" } }
          },
          "Clusters": {
            "{{Route}}": {
              "HttpRequest": { "Version": "2", "VersionPolicy": "RequestVersionExact" },
              "Destinations": { "orders-1": { "Address": "{{upstream.Url}}" } }
            }
          }
        }
        """),
    };

    /// <summary>A channel to the gateway; over TLS it trusts exactly the listener's test certificate.</summary>
    private static GrpcChannel Channel(string address, TestCertificate? trusted = null) =>
        GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                UseProxy = false,
                SslOptions = { RemoteCertificateValidationCallback = (_, certificate, _, _) => trusted?.Matches(certificate) == true },
            },
        });
}
