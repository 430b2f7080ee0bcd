using Microsoft.AspNetCore.Connections;

namespace Gateway.Foundation;

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
