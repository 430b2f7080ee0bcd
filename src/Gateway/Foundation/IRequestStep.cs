// The one shape of a per-request step, in the app pipeline and in YARP's proxy pipeline (docs/architecture.md says why).
namespace Gateway.Foundation;

/// <summary>
/// A per-request step: a singleton with its dependencies injected once, called with the request and the rest of the
/// pipeline. Added with <see cref="RequestStepExtensions.UseStep{TStep}"/>.
/// </summary>
internal interface IRequestStep
{
    Task InvokeAsync(HttpContext context, RequestDelegate next);
}

internal static class RequestStepExtensions
{
    /// <summary>
    /// Adds the registered <typeparamref name="TStep"/> (the app pipeline, or YARP's proxy pipeline, which is one too).
    /// The (HttpContext, RequestDelegate) overload of <c>Use</c>: the Func&lt;Task&gt; one allocates a closure per
    /// request, and <c>UseMiddleware</c> binds by reflection.
    /// </summary>
    public static IApplicationBuilder UseStep<TStep>(this IApplicationBuilder app)
        where TStep : class, IRequestStep
    {
        var step = app.ApplicationServices.GetRequiredService<TStep>();
        return app.Use(step.InvokeAsync);
    }
}
