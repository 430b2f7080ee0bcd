using System.Text.Json.Nodes;

namespace Gateway.TestSupport;

/// <summary>
/// Builds discovery.k8s.io/v1 EndpointSlice objects as raw JSON, in the shape the EndpointSlice controller writes them
/// (labels kubernetes.io/service-name and endpointslice.kubernetes.io/managed-by, conditions, targetRef to a Pod, named ports).
/// Raw JSON on purpose: the fake API server must not share a serializer with the client under test.
/// </summary>
public static class EndpointSliceJson
{
    public const string ServiceNameLabel = "kubernetes.io/service-name";

    /// <summary>An EndpointSlice of <paramref name="service"/> in <paramref name="ns"/> with the given endpoints and ports.</summary>
    public static JsonObject Slice(
        string name,
        string service,
        IEnumerable<JsonObject> endpoints,
        IEnumerable<(string? Name, int Port)> ports,
        string ns = "shop",
        string addressType = "IPv4")
    {
        var portArray = new JsonArray();
        foreach (var (portName, port) in ports)
        {
            var item = new JsonObject();
            if (portName is not null)
            {
                item["name"] = portName;
            }

            item["protocol"] = "TCP";
            item["port"] = port;
            portArray.Add(item);
        }

        var endpointArray = new JsonArray();
        foreach (var endpoint in endpoints)
        {
            endpointArray.Add(endpoint.DeepClone());
        }

        return new JsonObject
        {
            ["kind"] = "EndpointSlice",
            ["apiVersion"] = "discovery.k8s.io/v1",
            ["metadata"] = new JsonObject
            {
                ["name"] = name,
                ["namespace"] = ns,
                ["generateName"] = service + "-",
                ["labels"] = new JsonObject
                {
                    [ServiceNameLabel] = service,
                    ["endpointslice.kubernetes.io/managed-by"] = "endpointslice-controller.k8s.io",
                },
                ["ownerReferences"] = new JsonArray
                {
                    new JsonObject
                    {
                        ["apiVersion"] = "v1",
                        ["kind"] = "Service",
                        ["name"] = service,
                        ["uid"] = DeterministicUid("service/" + ns + "/" + service),
                        ["controller"] = true,
                        ["blockOwnerDeletion"] = true,
                    },
                },
            },
            ["addressType"] = addressType,
            ["endpoints"] = endpointArray,
            ["ports"] = portArray,
        };
    }

    /// <summary>
    /// One endpoint. <paramref name="serving"/> defaults to <paramref name="ready"/> and <paramref name="terminating"/> to false,
    /// as the controller writes them; pass null to leave a condition out (the API treats a missing ready as unknown).
    /// </summary>
    public static JsonObject Endpoint(
        string address,
        string? pod,
        bool? ready = true,
        bool? serving = null,
        bool? terminating = false,
        string ns = "shop",
        string? nodeName = "node-1")
    {
        var conditions = new JsonObject();
        if (ready is not null)
        {
            conditions["ready"] = ready.Value;
        }

        if ((serving ?? ready) is { } s)
        {
            conditions["serving"] = s;
        }

        if (terminating is not null)
        {
            conditions["terminating"] = terminating.Value;
        }

        var endpoint = new JsonObject
        {
            ["addresses"] = new JsonArray(address),
            ["conditions"] = conditions,
        };
        if (pod is not null)
        {
            endpoint["targetRef"] = new JsonObject
            {
                ["kind"] = "Pod",
                ["namespace"] = ns,
                ["name"] = pod,
                ["uid"] = DeterministicUid("pod/" + ns + "/" + pod),
            };
        }

        if (nodeName is not null)
        {
            endpoint["nodeName"] = nodeName;
        }

        return endpoint;
    }

    /// <summary>A ready endpoint (ready, serving, not terminating).</summary>
    public static JsonObject Ready(string address, string pod) => Endpoint(address, pod);

    /// <summary>A terminating pod: not ready; still serving unless <paramref name="serving"/> is false.</summary>
    public static JsonObject Terminating(string address, string pod, bool serving = true) =>
        Endpoint(address, pod, ready: false, serving: serving, terminating: true);

    /// <summary>A pod that is up but failing its readiness probe.</summary>
    public static JsonObject NotReady(string address, string pod) => Endpoint(address, pod, ready: false, serving: false, terminating: false);

    public static (string? Name, int Port) Port(string? name, int port) => (name, port);

    /// <summary>A stable UID-shaped string for a name (so re-created fixtures produce the same objects).</summary>
    public static string DeterministicUid(string seed)
    {
        var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(seed));
        return new Guid(hash.AsSpan(0, 16)).ToString();
    }
}
