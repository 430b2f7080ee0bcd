using Gateway.Foundation;
using Microsoft.Extensions.Options;

namespace Gateway.Management;

/// <summary>Admin API settings, bound from <c>Gateway:Admin</c>.</summary>
internal sealed class AdminOptions : IConfigBindable<AdminOptions>
{
    public static AdminOptions Read(IConfiguration section) => section.Get<AdminOptions>() ?? new();

    public const string SectionPath = "Gateway:Admin";

    /// <summary>Bearer token for <c>/admin/*</c> on the management listener. Unset: the admin API does not exist.</summary>
    public string? Token { get; set; }
}

internal sealed class AdminOptionsValidator : IValidateOptions<AdminOptions>
{
    public ValidateOptionsResult Validate(string? name, AdminOptions options) =>
        options.Token is { } token && token.Length < 16
            // Never echo the token itself.
            ? ValidateOptionsResult.Fail($"{AdminOptions.SectionPath}:Token: must be at least 16 characters (got {token.Length})")
            : ValidateOptionsResult.Success;
}
