// A twin of YARP's ConfigurationConfigProvider (Yarp.ReverseProxy 2.3, ConfigurationConfigProvider.cs and
// ConfigurationReadingExtensions.cs): the same keys, parsers and defaults, so every value YARP accepts means the same
// here (YarpSchemaReaderTests compare both readers on YARP's own sample and on every key).
// Gap it fills: YARP throws on the first bad value with no key path, and silently ignores keys it does not know.
// Here every bad value is an error naming its key and every stray key is reported with the closest known one.
using System.Globalization;
using System.Security.Authentication;
using Gateway.Foundation;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;

namespace Gateway.Configuration;

internal static class YarpSchemaReader
{
    public static readonly string[] RouteKeys =
    [
        "Order", "MaxRequestBodySize", "ClusterId", "AuthorizationPolicy", "RateLimiterPolicy", "OutputCachePolicy",
        "TimeoutPolicy", "Timeout", "CorsPolicy", "Metadata", "Transforms", "Match",
    ];

    public static readonly string[] ClusterKeys =
        ["LoadBalancingPolicy", "SessionAffinity", "HealthCheck", "HttpClient", "HttpRequest", "Metadata", "Destinations"];

    private static readonly string[] MatchKeys = ["Methods", "Hosts", "Path", "Headers", "QueryParameters"];
    private static readonly string[] HeaderMatchKeys = ["Name", "Values", "Mode", "IsCaseSensitive"];
    private static readonly string[] AffinityKeys = ["Enabled", "Policy", "FailurePolicy", "AffinityKeyName", "Cookie"];
    private static readonly string[] CookieKeys = ["Path", "SameSite", "HttpOnly", "MaxAge", "Domain", "IsEssential", "SecurePolicy", "Expiration"];
    private static readonly string[] HealthCheckKeys = ["Passive", "Active", "AvailableDestinationsPolicy"];
    private static readonly string[] PassiveKeys = ["Enabled", "Policy", "ReactivationPeriod"];
    private static readonly string[] ActiveKeys = ["Enabled", "Interval", "Timeout", "Policy", "Path", "Query"];
    private static readonly string[] HttpClientKeys =
    [
        "SslProtocols", "DangerousAcceptAnyServerCertificate", "MaxConnectionsPerServer", "EnableMultipleHttp2Connections",
        "RequestHeaderEncoding", "ResponseHeaderEncoding", "WebProxy",
    ];

    private static readonly string[] WebProxyKeys = ["Address", "BypassOnLocal", "UseDefaultCredentials"];
    private static readonly string[] HttpRequestKeys = ["ActivityTimeout", "Version", "VersionPolicy", "AllowResponseBuffering"];
    private static readonly string[] DestinationKeys = ["Address", "Health", "Metadata", "Host"];

    /// <summary>A route as YARP reads it; <paramref name="extraKeys"/> are the gateway's own blocks allowed beside YARP's keys.</summary>
    public static RouteConfig ReadRoute(IConfigurationSection section, IReadOnlyCollection<string> extraKeys, SchemaDiagnostics diagnostics)
    {
        var r = new SectionReader(section, diagnostics);
        if (!string.IsNullOrEmpty(section["RouteId"]))
        {
            diagnostics.Errors.Add($"{section.Path}:RouteId: routes are objects keyed by their id; remove RouteId and name the object instead");
        }

        var route = new RouteConfig
        {
            RouteId = section.Key,
            Order = r.Int32("Order"),
            MaxRequestBodySize = r.Int64("MaxRequestBodySize"),
            ClusterId = r.String("ClusterId"),
            AuthorizationPolicy = r.String("AuthorizationPolicy"),
            RateLimiterPolicy = r.String("RateLimiterPolicy"),
            OutputCachePolicy = r.String("OutputCachePolicy"),
            TimeoutPolicy = r.String("TimeoutPolicy"),
            Timeout = r.TimeSpan("Timeout"),
            CorsPolicy = r.String("CorsPolicy"),
            Metadata = r.StringDictionary("Metadata"),
            Transforms = ReadTransforms(section.GetSection("Transforms")),
            Match = ReadMatch(section.GetSection("Match"), diagnostics),
        };

        r.ReportUnknown(RouteKeys, extraKeys, "RouteId");
        return route;
    }

    /// <summary>A cluster as YARP reads it; <paramref name="extraKeys"/> are the gateway's own blocks allowed beside YARP's keys.</summary>
    public static ClusterConfig ReadCluster(IConfigurationSection section, IReadOnlyCollection<string> extraKeys, SchemaDiagnostics diagnostics)
    {
        var r = new SectionReader(section, diagnostics);
        var destinations = new Dictionary<string, DestinationConfig>(StringComparer.OrdinalIgnoreCase);
        foreach (var destination in section.GetSection("Destinations").GetChildren())
        {
            destinations.Add(destination.Key, ReadDestination(destination, diagnostics));
        }

        var cluster = new ClusterConfig
        {
            ClusterId = section.Key,
            LoadBalancingPolicy = r.String("LoadBalancingPolicy"),
            SessionAffinity = ReadSessionAffinity(section.GetSection("SessionAffinity"), diagnostics),
            HealthCheck = ReadHealthCheck(section.GetSection("HealthCheck"), diagnostics),
            HttpClient = ReadHttpClient(section.GetSection("HttpClient"), diagnostics),
            HttpRequest = ReadHttpRequest(section.GetSection("HttpRequest"), diagnostics),
            Metadata = r.StringDictionary("Metadata"),
            Destinations = destinations,
        };

        r.ReportUnknown(ClusterKeys, extraKeys);
        return cluster;
    }

    private static IReadOnlyDictionary<string, string>[]? ReadTransforms(IConfigurationSection section)
    {
        // Transform keys are free-form: YARP's transform validator names the unknown ones.
        List<IReadOnlyDictionary<string, string>>? transforms = null;
        foreach (var transform in section.GetChildren())
        {
            var pairs = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var pair in transform.GetChildren())
            {
                pairs.Add(pair.Key, pair.Value!);
            }

            (transforms ??= []).Add(pairs);
        }

        return transforms?.ToArray();
    }

    private static RouteMatch ReadMatch(IConfigurationSection section, SchemaDiagnostics diagnostics)
    {
        if (!section.Exists())
        {
            return new RouteMatch();
        }

        var r = new SectionReader(section, diagnostics);
        var match = new RouteMatch
        {
            Methods = r.StringArray("Methods"),
            Hosts = r.StringArray("Hosts"),
            Path = r.String("Path"),
            Headers = ReadList(section.GetSection("Headers"), diagnostics, ReadHeader),
            QueryParameters = ReadList(section.GetSection("QueryParameters"), diagnostics, ReadQueryParameter),
        };
        r.ReportUnknown(MatchKeys);
        return match;
    }

    private static T[]? ReadList<T>(IConfigurationSection section, SchemaDiagnostics diagnostics, Func<IConfigurationSection, SchemaDiagnostics, T> read)
    {
        if (!section.Exists())
        {
            return null;
        }

        var items = new List<T>();
        foreach (var child in section.GetChildren())
        {
            items.Add(read(child, diagnostics));
        }

        return items.ToArray();
    }

    private static RouteHeader ReadHeader(IConfigurationSection section, SchemaDiagnostics diagnostics)
    {
        var r = new SectionReader(section, diagnostics);
        var header = new RouteHeader
        {
            Name = r.String("Name")!,
            Values = r.StringArray("Values"),
            Mode = r.Enum<HeaderMatchMode>("Mode") ?? HeaderMatchMode.ExactHeader,
            IsCaseSensitive = r.Bool("IsCaseSensitive") ?? false,
        };
        r.ReportUnknown(HeaderMatchKeys);
        return header;
    }

    private static RouteQueryParameter ReadQueryParameter(IConfigurationSection section, SchemaDiagnostics diagnostics)
    {
        var r = new SectionReader(section, diagnostics);
        var query = new RouteQueryParameter
        {
            Name = r.String("Name")!,
            Values = r.StringArray("Values"),
            Mode = r.Enum<QueryParameterMatchMode>("Mode") ?? QueryParameterMatchMode.Exact,
            IsCaseSensitive = r.Bool("IsCaseSensitive") ?? false,
        };
        r.ReportUnknown(HeaderMatchKeys);
        return query;
    }

    private static SessionAffinityConfig? ReadSessionAffinity(IConfigurationSection section, SchemaDiagnostics diagnostics)
    {
        if (!section.Exists())
        {
            return null;
        }

        var r = new SectionReader(section, diagnostics);
        var affinity = new SessionAffinityConfig
        {
            Enabled = r.Bool("Enabled"),
            Policy = r.String("Policy"),
            FailurePolicy = r.String("FailurePolicy"),
            AffinityKeyName = r.String("AffinityKeyName")!,
            Cookie = ReadCookie(section.GetSection("Cookie"), diagnostics),
        };
        r.ReportUnknown(AffinityKeys);
        return affinity;
    }

    private static SessionAffinityCookieConfig? ReadCookie(IConfigurationSection section, SchemaDiagnostics diagnostics)
    {
        if (!section.Exists())
        {
            return null;
        }

        var r = new SectionReader(section, diagnostics);
        var cookie = new SessionAffinityCookieConfig
        {
            Path = r.String("Path"),
            SameSite = r.Enum<SameSiteMode>("SameSite"),
            HttpOnly = r.Bool("HttpOnly"),
            MaxAge = r.TimeSpan("MaxAge"),
            Domain = r.String("Domain"),
            IsEssential = r.Bool("IsEssential"),
            SecurePolicy = r.Enum<CookieSecurePolicy>("SecurePolicy"),
            Expiration = r.TimeSpan("Expiration"),
        };
        r.ReportUnknown(CookieKeys);
        return cookie;
    }

    private static HealthCheckConfig? ReadHealthCheck(IConfigurationSection section, SchemaDiagnostics diagnostics)
    {
        if (!section.Exists())
        {
            return null;
        }

        var r = new SectionReader(section, diagnostics);
        var healthCheck = new HealthCheckConfig
        {
            Passive = ReadPassive(section.GetSection("Passive"), diagnostics),
            Active = ReadActive(section.GetSection("Active"), diagnostics),
            AvailableDestinationsPolicy = r.String("AvailableDestinationsPolicy"),
        };
        r.ReportUnknown(HealthCheckKeys);
        return healthCheck;
    }

    private static PassiveHealthCheckConfig? ReadPassive(IConfigurationSection section, SchemaDiagnostics diagnostics)
    {
        if (!section.Exists())
        {
            return null;
        }

        var r = new SectionReader(section, diagnostics);
        var passive = new PassiveHealthCheckConfig
        {
            Enabled = r.Bool("Enabled"),
            Policy = r.String("Policy"),
            ReactivationPeriod = r.TimeSpan("ReactivationPeriod"),
        };
        r.ReportUnknown(PassiveKeys);
        return passive;
    }

    private static ActiveHealthCheckConfig? ReadActive(IConfigurationSection section, SchemaDiagnostics diagnostics)
    {
        if (!section.Exists())
        {
            return null;
        }

        var r = new SectionReader(section, diagnostics);
        var active = new ActiveHealthCheckConfig
        {
            Enabled = r.Bool("Enabled"),
            Interval = r.TimeSpan("Interval"),
            Timeout = r.TimeSpan("Timeout"),
            Policy = r.String("Policy"),
            Path = r.String("Path"),
            Query = r.String("Query"),
        };
        r.ReportUnknown(ActiveKeys);
        return active;
    }

    private static HttpClientConfig? ReadHttpClient(IConfigurationSection section, SchemaDiagnostics diagnostics)
    {
        if (!section.Exists())
        {
            return null;
        }

        var r = new SectionReader(section, diagnostics);
        WebProxyConfig? webProxy = null;
        var webProxySection = section.GetSection("WebProxy");
        if (webProxySection.Exists())
        {
            var w = new SectionReader(webProxySection, diagnostics);
            webProxy = new WebProxyConfig
            {
                Address = w.Uri("Address"),
                BypassOnLocal = w.Bool("BypassOnLocal"),
                UseDefaultCredentials = w.Bool("UseDefaultCredentials"),
            };
            w.ReportUnknown(WebProxyKeys);
        }

        var client = new HttpClientConfig
        {
            SslProtocols = ReadSslProtocols(section.GetSection("SslProtocols"), diagnostics),
            DangerousAcceptAnyServerCertificate = r.Bool("DangerousAcceptAnyServerCertificate"),
            MaxConnectionsPerServer = r.Int32("MaxConnectionsPerServer"),
            EnableMultipleHttp2Connections = r.Bool("EnableMultipleHttp2Connections"),
            RequestHeaderEncoding = r.String("RequestHeaderEncoding"),
            ResponseHeaderEncoding = r.String("ResponseHeaderEncoding"),
            WebProxy = webProxy,
        };
        r.ReportUnknown(HttpClientKeys);
        return client;
    }

    /// <summary>
    /// YARP reads an array of protocol names and ORs them. A single string (<c>"Tls12, Tls13"</c>, which YARP would
    /// silently ignore) is read with the same meaning, because earlier gateway docs taught that form.
    /// </summary>
    private static SslProtocols? ReadSslProtocols(IConfigurationSection section, SchemaDiagnostics diagnostics)
    {
        SslProtocols? protocols = null;
        if (section.Value is { Length: > 0 } single)
        {
            return ParseSslProtocol(section.Path, single, diagnostics);
        }

        foreach (var child in section.GetChildren())
        {
            if (ParseSslProtocol(child.Path, child.Value, diagnostics) is { } protocol)
            {
                protocols = protocols is null ? protocol : protocols | protocol;
            }
        }

        return protocols;
    }

    private static SslProtocols? ParseSslProtocol(string path, string? value, SchemaDiagnostics diagnostics)
    {
        if (value is not null && Enum.TryParse<SslProtocols>(value, ignoreCase: true, out var protocol))
        {
            return protocol;
        }

        diagnostics.Errors.Add(ConfigErrors.Invalid(path, value, "is not a TLS protocol (Tls12, Tls13)"));
        return null;
    }

    private static ForwarderRequestConfig? ReadHttpRequest(IConfigurationSection section, SchemaDiagnostics diagnostics)
    {
        if (!section.Exists())
        {
            return null;
        }

        var r = new SectionReader(section, diagnostics);
        var request = new ForwarderRequestConfig
        {
            ActivityTimeout = r.TimeSpan("ActivityTimeout"),
            Version = r.Version("Version"),
            VersionPolicy = r.Enum<HttpVersionPolicy>("VersionPolicy"),
            AllowResponseBuffering = r.Bool("AllowResponseBuffering"),
        };
        r.ReportUnknown(HttpRequestKeys);
        return request;
    }

    private static DestinationConfig ReadDestination(IConfigurationSection section, SchemaDiagnostics diagnostics)
    {
        var r = new SectionReader(section, diagnostics);
        var destination = new DestinationConfig
        {
            Address = r.String("Address")!,
            Health = r.String("Health"),
            Metadata = r.StringDictionary("Metadata"),
            Host = r.String("Host"),
        };
        r.ReportUnknown(DestinationKeys);
        return destination;
    }

    /// <summary>YARP's ConfigurationReadingExtensions, one key at a time, with an error instead of an exception.</summary>
    private readonly struct SectionReader(IConfigurationSection section, SchemaDiagnostics diagnostics)
    {
        public string? String(string key)
        {
            var child = section.GetSection(key);
            if (child.Value is null && child.GetChildren().Any())
            {
                diagnostics.Errors.Add($"{child.Path}: must be a single value, not an object or a list");
            }

            return child.Value;
        }

        public int? Int32(string key) => Parse<int>(key, static v => int.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? n : default(int?),
            "is not a whole number");

        public long? Int64(string key) => Parse<long>(key, static v => long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? n : default(long?),
            "is not a whole number");

        public bool? Bool(string key) => Parse<bool>(key, static v => bool.TryParse(v, out var b) ? b : default(bool?), "is not true or false");

        // YARP's durations use the invariant "c" format only: "00:00:30", "1.00:00:00".
        public TimeSpan? TimeSpan(string key) => Parse<System.TimeSpan>(key,
            static v => System.TimeSpan.TryParseExact(v, "c", CultureInfo.InvariantCulture, out var t) ? t : default(System.TimeSpan?),
            "is not a duration in YARP's form [d.]hh:mm:ss[.fffffff] (e.g. \"00:00:30\" for 30 seconds)");

        // As YARP: "2" means 2.0.
        public Version? Version(string key)
        {
            var value = String(key);
            if (string.IsNullOrEmpty(value))
            {
                return null;
            }

            if (System.Version.TryParse(value.Contains('.') ? value : value + ".0", out var version))
            {
                return version;
            }

            diagnostics.Errors.Add(ConfigErrors.Invalid(section.GetSection(key).Path, value, "is not an HTTP version (use \"1.1\", \"2\" or \"3\")"));
            return null;
        }

        public Uri? Uri(string key)
        {
            var value = String(key);
            if (value is null || System.Uri.TryCreate(value, UriKind.Absolute, out var uri))
            {
                return value is null ? null : new Uri(value);
            }

            diagnostics.Errors.Add(ConfigErrors.Invalid(section.GetSection(key).Path, value, "is not an absolute URI"));
            return null;
        }

        public TEnum? Enum<TEnum>(string key)
            where TEnum : struct, Enum
        {
            var value = String(key);
            if (value is null)
            {
                return null;
            }

            if (System.Enum.TryParse<TEnum>(value, ignoreCase: true, out var parsed))
            {
                return parsed;
            }

            diagnostics.Errors.Add(ConfigErrors.Invalid(section.GetSection(key).Path, value,
                $"is not one of {string.Join(", ", System.Enum.GetNames<TEnum>())}"));
            return null;
        }

        public string[]? StringArray(string key)
        {
            var child = section.GetSection(key);
            if (child.Value is { } single)
            {
                // YARP reads only list items, so a single string would be dropped without a word.
                diagnostics.Errors.Add(ConfigErrors.Invalid(child.Path, single, $"must be a list (write [\"{single}\"])"));
                return null;
            }

            List<string>? items = null;
            foreach (var item in child.GetChildren())
            {
                (items ??= []).Add(item.Value!);
            }

            return items?.ToArray();
        }

        public System.Collections.ObjectModel.ReadOnlyDictionary<string, string>? StringDictionary(string key)
        {
            Dictionary<string, string>? pairs = null;
            foreach (var pair in section.GetSection(key).GetChildren())
            {
                (pairs ??= new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)).Add(pair.Key, pair.Value!);
            }

            return pairs is null ? null : new System.Collections.ObjectModel.ReadOnlyDictionary<string, string>(pairs);
        }

        public void ReportUnknown(string[] known, IReadOnlyCollection<string>? extra = null, string? alsoAllowed = null)
        {
            var all = new List<string>(known.Length + (extra?.Count ?? 0) + 1);
            all.AddRange(known);
            if (extra is not null)
            {
                all.AddRange(extra);
            }

            if (alsoAllowed is not null)
            {
                all.Add(alsoAllowed);
            }

            UnknownKeys.Collect(section, all, diagnostics.Unknown);
        }

        private T? Parse<T>(string key, Func<string, T?> parse, string problem)
            where T : struct
        {
            var value = String(key);
            if (value is null)
            {
                return null;
            }

            if (parse(value) is { } parsed)
            {
                return parsed;
            }

            diagnostics.Errors.Add(ConfigErrors.Invalid(section.GetSection(key).Path, value, problem));
            return null;
        }
    }
}

/// <summary>What reading a candidate config found: errors (the config is refused) and unknown keys (warnings, or errors when strict).</summary>
internal sealed class SchemaDiagnostics(ICollection<string> errors)
{
    public ICollection<string> Errors { get; } = errors;

    public List<UnknownKey> Unknown { get; } = [];
}
