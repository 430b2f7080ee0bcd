// Bearer-token check for the admin API, compared in constant time.
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Gateway.Management;

internal sealed class AdminAuthFilter(IOptionsMonitor<AdminOptions> options) : IEndpointFilter
{
    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var token = options.CurrentValue.Token;
        if (string.IsNullOrEmpty(token))
        {
            // No token configured: the admin API is off and looks like it does not exist.
            return ValueTask.FromResult<object?>(Results.NotFound());
        }

        var header = context.HttpContext.Request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) || !TokensEqual(header.AsSpan(scheme.Length).Trim(), token))
        {
            context.HttpContext.Response.Headers.WWWAuthenticate = "Bearer";
            return ValueTask.FromResult<object?>(Results.Unauthorized());
        }

        return next(context);
    }

    private static bool TokensEqual(ReadOnlySpan<char> presented, string expected)
    {
        // Hash first so the comparison time does not depend on the lengths either.
        Span<byte> a = stackalloc byte[32];
        Span<byte> b = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(presented.ToArray()), a);
        SHA256.HashData(Encoding.UTF8.GetBytes(expected), b);
        return CryptographicOperations.FixedTimeEquals(a, b);
    }
}
