// Gap in YARP: a route has one ClusterId. This step picks the route's cluster per request (or per sticky session) from
// its Split block, before affinity and load balancing, and moves the request there with YARP's ReassignProxyRequest.
using System.Runtime.CompilerServices;
using Gateway.Foundation;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;
using Yarp.ReverseProxy.SessionAffinity;

namespace Gateway.TrafficSplit;

internal sealed class SplitStep(IProxyStateLookup lookup, CohortCookie cohorts, TrafficMetrics metrics, IEnumerable<ISessionAffinityPolicy> affinityPolicies) : IRequestStep
{
    private readonly ConditionalWeakTable<SplitOptions, SplitPlan> _plans = [];
    private readonly ISessionAffinityPolicy[] _affinityPolicies = [.. affinityPolicies];
    private static readonly Func<object, Task> AffinitizeOnStarting = Affinitize;

    public Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var proxy = context.GetReverseProxyFeature();
        var route = proxy.Route.Config;
        if (SplitOptions.Block.Get(route.Metadata).Own is not { } options)
        {
            return next(context);
        }

        var plan = _plans.GetValue(options, o => new SplitPlan(route.RouteId, o));
        var chosen = Override(context, plan.Options.Header, fromHeader: true) ?? Override(context, plan.Options.Cookie, fromHeader: false);
        var newCohort = false;
        if (chosen is null && plan.Options.Sticky)
        {
            // A cohort stays while its cluster is in the split (weight 0 included: no new sessions, existing ones stay).
            var pinned = cohorts.Read(context.Request.Cookies[plan.CookieName], route.RouteId);
            if (pinned is not null && plan.IndexOf(pinned) >= 0)
            {
                chosen = pinned;
            }
        }

        if (chosen is null)
        {
            chosen = plan.Draw();
            newCohort = plan.Options.Sticky;
        }

        var served = proxy.Cluster?.Config.ClusterId;
        if (!string.Equals(chosen, served, StringComparison.OrdinalIgnoreCase))
        {
            if (lookup.TryGetCluster(chosen, out var cluster) && cluster.DestinationsState.AvailableDestinations.Count > 0)
            {
                context.ReassignProxyRequest(cluster);
                served = chosen;
                AddAffinityIfTheRouteLacksIt(context, proxy.Route, cluster);
            }
            else
            {
                newCohort = false; // the fallback serves this request; the next one draws again
            }
        }

        if (newCohort && cohorts.Write(route.RouteId, chosen) is { } cookie)
        {
            context.Response.Cookies.Append(plan.CookieName, cookie, new CookieOptions
            {
                HttpOnly = true,
                SameSite = SameSiteMode.Lax,
                Secure = context.Request.IsHttps,
                Path = "/",
                MaxAge = plan.CookieMaxAge,
            });
        }

        plan.Served(served is null ? -1 : plan.IndexOf(served));
        metrics.SplitRequest(route.RouteId, served ?? "none");
        return next(context);
    }

    /// <summary>The plan of a route's current split, once it has served a request (the admin API's observed shares).</summary>
    public SplitPlan? PlanFor(SplitOptions options) => _plans.TryGetValue(options, out var plan) ? plan : null;

    // YARP sets the affinity cookie in a response transform that it adds to a route only when the route's own cluster
    // has affinity; a request moved to a cluster with affinity would otherwise never get its cookie.
    private void AddAffinityIfTheRouteLacksIt(HttpContext context, RouteModel route, ClusterState chosen)
    {
        var affinity = chosen.Model.Config.SessionAffinity;
        if (affinity?.Enabled != true || route.Cluster?.Model.Config.SessionAffinity?.Enabled == true)
        {
            return;
        }

        var name = affinity.Policy ?? "HashCookie";
        foreach (var policy in _affinityPolicies)
        {
            if (string.Equals(policy.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                context.Response.OnStarting(AffinitizeOnStarting, new AffinityState(context, policy, chosen, affinity));
                return;
            }
        }
    }

    private static Task Affinitize(object state)
    {
        var (context, policy, cluster, affinity) = (AffinityState)state;
        if (context.GetReverseProxyFeature().ProxiedDestination is { } destination && context.Features.Get<IForwarderErrorFeature>() is null)
        {
            policy.AffinitizeResponse(context, cluster, affinity, destination);
        }

        return Task.CompletedTask;
    }

    private sealed record AffinityState(HttpContext Context, ISessionAffinityPolicy Policy, ClusterState Cluster, Yarp.ReverseProxy.Configuration.SessionAffinityConfig Affinity);

    private static string? Override(HttpContext context, SplitOverride? rule, bool fromHeader)
    {
        if (rule?.Name is not { } name)
        {
            return null;
        }

        string? value = fromHeader ? context.Request.Headers[name].ToString() : context.Request.Cookies[name];
        return !string.IsNullOrEmpty(value) && rule.Values.TryGetValue(value, out var cluster) ? cluster : null;
    }
}
