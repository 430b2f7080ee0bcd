// Keeps the two listeners apart: management endpoints answer only on the management listener, proxy routes
// only on the proxy listener, whatever Host header or path a client sends.
using Gateway.Foundation;
using Microsoft.AspNetCore.Routing.Matching;

namespace Gateway.Management;

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
