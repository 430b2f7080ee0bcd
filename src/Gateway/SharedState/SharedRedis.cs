// One Redis connection for the whole process, shared by every capability that keeps cross-replica state.
// Connects in the background (abortConnect=false) so a Redis outage at start or later never stops the gateway;
// callers check IsConnected and fall back to local behaviour.
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Gateway.SharedState;

internal sealed partial class SharedRedis : IAsyncDisposable
{
    private readonly ILogger<SharedRedis> _logger;
    private readonly Lazy<Task<ConnectionMultiplexer?>> _connection;

    public SharedRedis(IOptions<RedisOptions> options, ILogger<SharedRedis> logger)
    {
        _logger = logger;
        Options = options.Value;
        _connection = new Lazy<Task<ConnectionMultiplexer?>>(ConnectAsync);
    }

    public RedisOptions Options { get; }

    /// <summary>Redis is configured (multi-replica mode), whether or not it is reachable right now.</summary>
    public bool IsConfigured => !string.IsNullOrEmpty(Options.Configuration);

    /// <summary>Reachable right now; false while Redis is down or not configured.</summary>
    public bool IsConnected => _connection.IsValueCreated && _connection.Value.IsCompletedSuccessfully && _connection.Value.Result is { IsConnected: true };

    /// <summary>The multiplexer, or null when Redis is not configured. It reconnects by itself after an outage.</summary>
    public Task<ConnectionMultiplexer?> GetConnectionAsync() => _connection.Value;

    /// <summary>Prefixes a key or channel name with <see cref="RedisOptions.KeyPrefix"/>.</summary>
    public string Key(string name) => $"{Options.KeyPrefix}:{name}";

    private async Task<ConnectionMultiplexer?> ConnectAsync()
    {
        if (!IsConfigured)
        {
            return null;
        }

        var configuration = ConfigurationOptions.Parse(Options.Configuration!);
        configuration.AbortOnConnectFail = false;
        configuration.ClientName ??= "gateway";
        var multiplexer = await ConnectionMultiplexer.ConnectAsync(configuration);
        multiplexer.ConnectionFailed += (_, e) => LogConnectionFailed(_logger, e.EndPoint?.ToString() ?? "?", e.FailureType.ToString());
        multiplexer.ConnectionRestored += (_, e) => LogConnectionRestored(_logger, e.EndPoint?.ToString() ?? "?");
        LogConnecting(_logger, string.Join(",", configuration.EndPoints.Select(e => e.ToString())), multiplexer.IsConnected);
        return multiplexer;
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection.IsValueCreated && await _connection.Value is { } multiplexer)
        {
            await multiplexer.DisposeAsync();
        }
    }

    // Endpoints only: the connection string may carry a password.
    [LoggerMessage(EventId = 8001, Level = LogLevel.Information, Message = "Redis {Endpoints}: connected={Connected}")]
    private static partial void LogConnecting(ILogger logger, string endpoints, bool connected);

    [LoggerMessage(EventId = 8002, Level = LogLevel.Warning, Message = "Redis connection to {Endpoint} failed ({FailureType}); shared state falls back to local until it is back")]
    private static partial void LogConnectionFailed(ILogger logger, string endpoint, string failureType);

    [LoggerMessage(EventId = 8003, Level = LogLevel.Information, Message = "Redis connection to {Endpoint} restored")]
    private static partial void LogConnectionRestored(ILogger logger, string endpoint);
}
