using Gateway.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Yarp.ReverseProxy.Configuration;

namespace Gateway.Tests.Configuration;

/// <summary>
/// The gateway's reader is a twin of YARP's ConfigurationConfigProvider: on every input YARP accepts it must produce the
/// same routes and clusters, and where YARP throws it must report an error naming the key.
/// </summary>
public sealed class YarpSchemaReaderTests
{
    // YARP's own sample (samples/ReverseProxy.Config.Sample/appsettings.json at dotnet/yarp bd11867), carried verbatim.
    private static readonly string SamplePath = Path.Combine(TestPaths.RepoRoot, "tests", "Gateway.Tests", "Configuration", "Yarp", "ReverseProxy.Config.Sample.appsettings.json");

    public static TheoryData<string> ConfigFiles() =>
    [
        SamplePath,
        TestPaths.ShippedConfig,
        TestPaths.DeployedConfig,
    ];

    [Theory]
    [MemberData(nameof(ConfigFiles))]
    public void ConfigFile_ReadsExactlyAsYarpReadsIt(string path)
    {
        var config = new ConfigurationBuilder().AddJsonFile(path).Build();

        var (routes, clusters, errors) = ReadOurs(config);
        var yarp = ReadYarps(config);

        Assert.Empty(errors);
        Assert.Equal(yarp.Routes.Count, routes.Count);
        Assert.Equal(yarp.Clusters.Count, clusters.Count);
        for (var i = 0; i < routes.Count; i++)
        {
            Assert.Equal(yarp.Routes[i], routes[i]);
        }

        for (var i = 0; i < clusters.Count; i++)
        {
            Assert.Equal(yarp.Clusters[i], clusters[i]);
        }
    }

    [Fact]
    public void Sample_SetsEveryKeyItDocuments()
    {
        // Guards the comparison above: an empty or partly read sample would compare equal too.
        var config = new ConfigurationBuilder().AddJsonFile(SamplePath).Build();
        var (routes, clusters, _) = ReadOurs(config);

        var route = routes.Single(r => r.RouteId == "allRouteProps");
        Assert.Equal("Anonymous", route.AuthorizationPolicy);
        Assert.Equal(3, route.Match.Hosts!.Count);
        Assert.Equal(Yarp.ReverseProxy.Configuration.HeaderMatchMode.ExactHeader, route.Match.Headers![0].Mode);
        Assert.True(route.Match.QueryParameters![0].IsCaseSensitive);
        Assert.Equal("MyValue", route.Transforms![0]["Set"]);
        var cluster = clusters.Single(c => c.ClusterId == "allClusterProps");
        Assert.Equal(new Version(2, 0), cluster.HttpRequest!.Version);
        Assert.Equal(System.Security.Authentication.SslProtocols.Tls13, cluster.HttpClient!.SslProtocols);
        Assert.Equal(TimeSpan.FromHours(8), cluster.SessionAffinity!.Cookie!.MaxAge);
        Assert.Equal("contoso", cluster.Destinations!["another_destination"].Host);
    }

    // Values YARP parses: both readers must agree on the result.
    [Theory]
    [InlineData("Routes:r:Order", "-3")]
    [InlineData("Routes:r:MaxRequestBodySize", "1048576")]
    [InlineData("Routes:r:Timeout", "00:00:30")]
    [InlineData("Routes:r:Timeout", "1.02:03:04.5")]
    [InlineData("Routes:r:Timeout", "30")] // 30 days in YARP's "c" format; docs/configuration.md warns about it
    [InlineData("Routes:r:Match:Headers:0:Mode", "headerprefix")]
    [InlineData("Routes:r:Match:Headers:0:IsCaseSensitive", "True")]
    [InlineData("Routes:r:Match:QueryParameters:0:Mode", "Contains")]
    [InlineData("Clusters:c:HttpRequest:Version", "2")]
    [InlineData("Clusters:c:HttpRequest:Version", "1.1")]
    [InlineData("Clusters:c:HttpRequest:Version", "3")]
    [InlineData("Clusters:c:HttpRequest:VersionPolicy", "requestversionexact")]
    [InlineData("Clusters:c:HttpRequest:ActivityTimeout", "00:02:00")]
    [InlineData("Clusters:c:HttpRequest:AllowResponseBuffering", "false")]
    [InlineData("Clusters:c:HttpClient:SslProtocols:0", "Tls12")]
    [InlineData("Clusters:c:HttpClient:MaxConnectionsPerServer", "+10")]
    [InlineData("Clusters:c:HttpClient:WebProxy:Address", "http://127.0.0.1:3128")]
    [InlineData("Clusters:c:SessionAffinity:Cookie:SameSite", "Lax")]
    [InlineData("Clusters:c:SessionAffinity:Cookie:SecurePolicy", "SameAsRequest")]
    [InlineData("Clusters:c:HealthCheck:Passive:ReactivationPeriod", "00:00:10")]
    [InlineData("Clusters:c:HealthCheck:Active:Interval", "00:00:05")]
    public void AcceptedValue_MeansWhatItMeansToYarp(string key, string value)
    {
        var config = Minimal((key, value));

        var (routes, clusters, errors) = ReadOurs(config);
        var yarp = ReadYarps(config);

        Assert.Empty(errors);
        Assert.Equal(yarp.Routes[0], routes[0]);
        Assert.Equal(yarp.Clusters[0], clusters[0]);
    }

    // Values YARP throws on (with no key in the message): ours names the key and the value.
    [Theory]
    [InlineData("Routes:r:Order", "first")]
    [InlineData("Routes:r:Order", " 1")]
    [InlineData("Routes:r:MaxRequestBodySize", "10MB")]
    [InlineData("Routes:r:Timeout", "30s")]
    [InlineData("Routes:r:Match:Headers:0:Mode", "Regex")]
    [InlineData("Routes:r:Match:Headers:0:IsCaseSensitive", "yes")]
    [InlineData("Clusters:c:HttpRequest:Version", "two")]
    [InlineData("Clusters:c:HttpRequest:VersionPolicy", "Any")]
    [InlineData("Clusters:c:HttpClient:SslProtocols:0", "Tls14")]
    [InlineData("Clusters:c:HttpClient:WebProxy:Address", "not a uri")]
    [InlineData("Clusters:c:SessionAffinity:Cookie:SameSite", "Sometimes")]
    [InlineData("Clusters:c:HealthCheck:Active:Timeout", "-")]
    public void RefusedValue_IsAnErrorNamingTheKey_WhereYarpThrows(string key, string value)
    {
        var config = Minimal((key, value));

        Assert.ThrowsAny<Exception>(() => ReadYarps(config));
        var (_, _, errors) = ReadOurs(config);

        Assert.Equal($"ReverseProxy:{key}: '{value}'", Assert.Single(errors)[..$"ReverseProxy:{key}: '{value}'".Length]);
    }

    // Where YARP silently drops a value, we refuse it (or, for SslProtocols, read it with the obvious meaning).
    [Fact]
    public void SingleStringWhereYarpReadsAList_IsRefused()
    {
        var (_, _, errors) = ReadOurs(Minimal(("Routes:r:Match:Methods", "GET")));

        Assert.Equal("ReverseProxy:Routes:r:Match:Methods: 'GET' must be a list (write [\"GET\"])", Assert.Single(errors));
    }

    [Fact]
    public void SslProtocolsAsOneString_IsReadAsTheFlagsItNames()
    {
        var (_, clusters, errors) = ReadOurs(Minimal(("Clusters:c:HttpClient:SslProtocols", "Tls12, Tls13")));

        Assert.Empty(errors);
        Assert.Equal(System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13, clusters[0].HttpClient!.SslProtocols);
    }

    [Theory]
    [InlineData("Routes:r:Matches:Path", "/x", "ReverseProxy:Routes:r:Matches", "Match")]
    [InlineData("Routes:r:Match:Header:0:Name", "x", "ReverseProxy:Routes:r:Match:Header", "Headers")]
    [InlineData("Clusters:c:LoadBalancing", "First", "ReverseProxy:Clusters:c:LoadBalancing", "LoadBalancingPolicy")]
    [InlineData("Clusters:c:Owner", "team-a", "ReverseProxy:Clusters:c:Owner", null)]
    [InlineData("Clusters:c:HttpRequest:Verison", "2", "ReverseProxy:Clusters:c:HttpRequest:Verison", "Version")]
    [InlineData("Clusters:c:SessionAffinity:Cookie:SameSit", "Lax", "ReverseProxy:Clusters:c:SessionAffinity:Cookie:SameSit", "SameSite")]
    [InlineData("Clusters:c:Destinations:d:Adress", "http://127.0.0.1:2", "ReverseProxy:Clusters:c:Destinations:d:Adress", "Address")]
    [InlineData("Route:r:ClusterId", "c", "ReverseProxy:Route", "Routes")]
    public void UnknownKey_IsReported_WithTheClosestKnownKey(string key, string value, string path, string? suggestion)
    {
        var diagnostics = new SchemaDiagnostics(new List<string>());
        ProxyConfigReader.Read(Minimal((key, value)), [], diagnostics);

        var unknown = Assert.Single(diagnostics.Unknown);
        Assert.Equal(path, unknown.Path);
        Assert.Equal(suggestion, unknown.Suggestion);
    }

    [Fact]
    public void Metadata_IsFreeForm_AndNeverReportedAsUnknown()
    {
        var diagnostics = new SchemaDiagnostics(new List<string>());
        ProxyConfigReader.Read(Minimal(("Clusters:c:Metadata:Anything", "x"), ("Routes:r:Metadata:Whatever", "y"), ("Routes:r:Transforms:0:PathPrefix", "/p")), [], diagnostics);

        Assert.Empty(diagnostics.Unknown);
        Assert.Empty(diagnostics.Errors);
    }

    private static IConfigurationRoot Minimal(params (string Key, string Value)[] extra)
    {
        var data = new Dictionary<string, string?>
        {
            ["ReverseProxy:Routes:r:ClusterId"] = "c",
            ["ReverseProxy:Routes:r:Match:Path"] = "/{**rest}",
            ["ReverseProxy:Clusters:c:Destinations:d:Address"] = "http://127.0.0.1:1/",
        };
        foreach (var (key, value) in extra)
        {
            if (key.Contains(":Headers:0:", StringComparison.Ordinal) || key.Contains(":QueryParameters:0:", StringComparison.Ordinal))
            {
                data[key[..(key.LastIndexOf(':') + 1)] + "Name"] = "X-Test";
            }

            data["ReverseProxy:" + key] = value;
        }

        return new ConfigurationBuilder().AddInMemoryCollection(data).Build();
    }

    private static (List<RouteConfig> Routes, List<ClusterConfig> Clusters, List<string> Errors) ReadOurs(IConfiguration config)
    {
        var diagnostics = new SchemaDiagnostics(new List<string>());
        var routes = new List<RouteConfig>();
        var clusters = new List<ClusterConfig>();
        foreach (var section in config.GetSection("ReverseProxy:Clusters").GetChildren())
        {
            clusters.Add(YarpSchemaReader.ReadCluster(section, [], diagnostics));
        }

        foreach (var section in config.GetSection("ReverseProxy:Routes").GetChildren())
        {
            routes.Add(YarpSchemaReader.ReadRoute(section, [], diagnostics));
        }

        return (routes, clusters, [.. diagnostics.Errors]);
    }

    private static IProxyConfig ReadYarps(IConfiguration config)
    {
        var services = new ServiceCollection().AddLogging();
        services.AddReverseProxy().LoadFromConfig(config.GetSection("ReverseProxy"));
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IProxyConfigProvider>().GetConfig();
    }
}
