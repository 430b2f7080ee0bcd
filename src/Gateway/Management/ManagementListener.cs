// Keeps the two listeners apart: management endpoints answer only on the management listener, proxy routes
// only on the proxy listener, whatever Host header or path a client sends.
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Routing.Matching;

namespace Gateway.Management;

/// <summary>Set on every connection accepted by the <c>Management</c> Kestrel endpoint.</summary>
internal sealed class ManagementConnectionFeature
{
    public static readonly ManagementConnectionFeature Instance = new();

    public static Func<ConnectionDelegate, ConnectionDelegate> Middleware { get; } = next => connection =>
    {
        connection.Features.Set(Instance);
        return next(connection);
    };

    public static bool IsManagement(HttpContext context) => context.Features.Get<ManagementConnectionFeature>() is not null;
}

/// <summary>Endpoint metadata: which listener may serve this endpoint.</summary>
internal sealed class ListenerMetadata(bool management)
{
    public static readonly ListenerMetadata Management = new(true);
    public static readonly ListenerMetadata Proxy = new(false);

    public bool IsManagement { get; } = management;
}

/// <summary>
/// Routing policy (like ASP.NET Core's host matching, but on the accepting listener rather than the client's Host
/// header): an endpoint without <see cref="ListenerMetadata"/> is treated as management-only.
/// </summary>
internal sealed class ListenerMatcherPolicy : MatcherPolicy, IEndpointSelectorPolicy
{
    public override int Order => -1000;

    public bool AppliesToEndpoints(IReadOnlyList<Endpoint> endpoints) => endpoints.Count > 0;

    public Task ApplyAsync(HttpContext httpContext, CandidateSet candidates)
    {
        var management = ManagementConnectionFeature.IsManagement(httpContext);
        for (var i = 0; i < candidates.Count; i++)
        {
            if (!candidates.IsValidCandidate(i))
            {
                continue;
            }

            var listener = candidates[i].Endpoint.Metadata.GetMetadata<ListenerMetadata>();
            if ((listener?.IsManagement ?? true) != management)
            {
                candidates.SetValidity(i, false);
            }
        }

        return Task.CompletedTask;
    }
}
