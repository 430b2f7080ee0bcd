// Config files for the fixed upstream (nginx, 64-byte body, stub_status for counting accepted connections),
// nginx and HAProxy as keep-alive reverse proxies, and the gateway / plain YARP JSON configs.
namespace Gateway.Benchmarks.Load;

internal static class Servers
{
    /// <summary>Exactly 64 bytes.</summary>
    public const string Body = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n";

    // keepalive_requests defaults to 1000 in nginx: raised everywhere so nobody's connections are cut every 1000 requests.
    public static string UpstreamNginx(string dir, int port, int statusPort) => $$"""
        worker_processes 1;
        daemon off;
        pid {{dir}}/upstream.pid;
        error_log {{dir}}/upstream-error.log warn;
        events { worker_connections 8192; }
        http {
          access_log off;
          keepalive_requests 100000000;
          keepalive_timeout 300s;
          server {
            listen 127.0.0.1:{{port}} backlog=4096;
            location / { default_type text/plain; return 200 "{{Body.TrimEnd('\n')}}\n"; }
            location = {{BenchJwt.JwksPath}} { default_type application/json; return 200 '{{BenchJwt.Jwks}}'; }
          }
          server {
            listen 127.0.0.1:{{statusPort}};
            location / { stub_status; }
          }
        }
        """;

    /// <summary>nginx as a keep-alive reverse proxy; with <paramref name="tls"/> it terminates TLS 1.2/1.3 with those PEM files.</summary>
    /// <remarks>
    /// With <paramref name="gzipAll"/>, nginx gzips every proxied body at level 1 (gzip_min_length 0): what compressing
    /// the 64-byte body costs a proxy that is not the gateway (the gateway-edge-compress-all comparison).
    /// </remarks>
    public static string ProxyNginx(string dir, int port, int upstreamPort, int workers, (string Certificate, string Key)? tls = null, bool gzipAll = false) => $$"""
        worker_processes {{workers}};
        daemon off;
        pid {{dir}}/proxy{{(tls is null ? "" : "-https")}}{{(gzipAll ? "-gzip" : "")}}.pid;
        error_log {{dir}}/proxy{{(tls is null ? "" : "-https")}}{{(gzipAll ? "-gzip" : "")}}-error.log warn;
        events { worker_connections 8192; }
        http {
          access_log off;
          keepalive_requests 100000000;
          keepalive_timeout 300s;
          {{(gzipAll ? "gzip on; gzip_comp_level 1; gzip_min_length 0; gzip_proxied any; gzip_types *;" : "")}}
          upstream up {
            server 127.0.0.1:{{upstreamPort}};
            keepalive 64;
            keepalive_requests 100000000;
          }
          server {
            listen 127.0.0.1:{{port}} backlog=4096{{(tls is null ? "" : " ssl")}};
            {{(tls is { } files ? $"ssl_certificate {files.Certificate}; ssl_certificate_key {files.Key}; ssl_protocols TLSv1.2 TLSv1.3; ssl_session_cache shared:bench:10m;" : "")}}
            location / {
              proxy_pass http://up;
              proxy_http_version 1.1;
              proxy_set_header Connection "";
            }
          }
        }
        """;

    /// <summary>
    /// nginx proxying gRPC: an h2c listener (HTTP/2 with prior knowledge, no TLS) and <c>grpc_pass</c> to the h2c
    /// upstream over kept-alive HTTP/2 connections.
    /// </summary>
    public static string ProxyNginxGrpc(string dir, int port, int h2cPort, int workers) => $$"""
        worker_processes {{workers}};
        daemon off;
        pid {{dir}}/proxy-grpc.pid;
        error_log {{dir}}/proxy-grpc-error.log warn;
        events { worker_connections 8192; }
        http {
          access_log off;
          keepalive_requests 100000000;
          keepalive_timeout 300s;
          http2_max_requests 100000000;
          upstream grpcup {
            server 127.0.0.1:{{h2cPort}};
            keepalive 64;
            keepalive_requests 100000000;
          }
          server {
            listen 127.0.0.1:{{port}} http2 backlog=4096;
            location / { grpc_pass grpc://grpcup; }
          }
        }
        """;

    public static string Haproxy(int port, int upstreamPort, int threads) => $$"""
        global
          nbthread {{threads}}
          maxconn 8192
        defaults
          mode http
          option http-keep-alive
          http-reuse always
          timeout connect 5s
          timeout client 60s
          timeout server 60s
        frontend fe
          bind 127.0.0.1:{{port}}
          default_backend be
        backend be
          server up 127.0.0.1:{{upstreamPort}}

        """;

    public static string GatewayMinimal(int upstreamPort) => $$"""
        {
          "ReverseProxy": {
            "Routes": { "bench": { "ClusterId": "bench", "Match": { "Path": "{**catch-all}" } } },
            "Clusters": { "bench": { "Destinations": { "d1": { "Address": "http://127.0.0.1:{{upstreamPort}}/" } } } }
          }
        }
        """;

    /// <summary>The minimal gateway's route to an h2c cluster: HTTP/2 exactly (YARP's default cannot negotiate h2c).</summary>
    public static string GatewayH2c(int h2cPort) => $$"""
        {
          "ReverseProxy": {
            "Routes": { "bench": { "ClusterId": "bench", "Match": { "Path": "{**catch-all}" } } },
            "Clusters": {
              "bench": {
                "HttpRequest": { "Version": "2", "VersionPolicy": "RequestVersionExact" },
                "Destinations": { "d1": { "Address": "http://127.0.0.1:{{h2cPort}}/" } }
              }
            }
          }
        }
        """;

    /// <summary>The minimal gateway with a sticky 90/10 split (issue 22): both clusters reach the same upstream.</summary>
    public static string GatewaySplit(int upstreamPort) => $$"""
        {
          "ReverseProxy": {
            "Routes": {
              "bench": {
                "ClusterId": "bench", "Match": { "Path": "{**catch-all}" },
                "Split": { "Clusters": { "bench": 90, "canary": 10 }, "Sticky": true }
              }
            },
            "Clusters": {
              "bench": { "Destinations": { "d1": { "Address": "http://127.0.0.1:{{upstreamPort}}/" } } },
              "canary": { "Destinations": { "d1": { "Address": "http://127.0.0.1:{{upstreamPort}}/" } } }
            }
          }
        }
        """;

    /// <summary>
    /// The minimal gateway with response compression on (issue 18). MinimumBytes 0, so the upstream's 64-byte text/plain
    /// body is compressed: the per-response cost of compression at its worst ratio of work to bytes saved.
    /// </summary>
    public static string GatewayCompression(int upstreamPort) => $$"""
        {
          "Gateway": { "Compression": { "Enabled": true, "MinimumBytes": 0 } },
          "ReverseProxy": {
            "Routes": { "bench": { "ClusterId": "bench", "Match": { "Path": "{**catch-all}" } } },
            "Clusters": { "bench": { "Destinations": { "d1": { "Address": "http://127.0.0.1:{{upstreamPort}}/" } } } }
          }
        }
        """;

    /// <summary>
    /// Issue 18's edge route: JWT validation (keys from the upstream nginx's JWKS), a named CORS policy and compression
    /// (as <see cref="GatewayCompression"/>). The Authentication/Authorization/Cors keys are the contract's
    /// (ARCHITECTURE.md), as the auth branch defines them; a build without them refuses this config and the target
    /// reports n/a.
    /// </summary>
    /// <remarks>
    /// With <paramref name="compressSmallBodies"/> false, compression is on at its defaults (MinimumBytes 1024, as a user
    /// would configure it), so the 64-byte body passes through the compression middleware uncompressed; true sets
    /// MinimumBytes 0 and every body is compressed (the worst case: fixed encoder cost for bytes that cannot shrink).
    /// </remarks>
    public static string GatewayEdge(int upstreamPort, bool cors = true, bool compression = true, bool compressSmallBodies = false) => $$"""
        {
          "Gateway": {
            "Authentication": {
              "Schemes": {
                "bench": {
                  "Type": "JwtBearer",
                  "JwksUri": "http://127.0.0.1:{{upstreamPort}}{{BenchJwt.JwksPath}}",
                  "Issuer": "{{BenchJwt.Issuer}}",
                  "Audiences": [ "{{BenchJwt.Audience}}" ],
                  "RequireHttpsMetadata": false
                }
              }
            },
            "Authorization": { "Policies": { "bench": { "Schemes": [ "bench" ], "RequireAuthenticatedUser": true } } },
            "Cors": { "Policies": { "bench": { "AllowedOrigins": [ "{{EdgeOrigin}}" ], "AllowedMethods": [ "GET" ] } } },
            "Compression": { "Enabled": {{(compression ? "true" : "false")}}{{(compressSmallBodies ? ", \"MinimumBytes\": 0" : "")}} }
          },
          "ReverseProxy": {
            "Routes": {
              "bench": { "ClusterId": "bench", "AuthorizationPolicy": "bench", {{(cors ? "\"CorsPolicy\": \"bench\"," : "")}} "Match": { "Path": "{**catch-all}" } }
            },
            "Clusters": { "bench": { "Destinations": { "d1": { "Address": "http://127.0.0.1:{{upstreamPort}}/" } } } }
          }
        }
        """;

    /// <summary>The browser origin the edge target's client claims (allowed by its CORS policy).</summary>
    public const string EdgeOrigin = "https://app.bench.test";

    /// <summary>The minimal gateway plus one Redis-backed fixed-window limit far above the load.</summary>
    public static string GatewayRateLimit(int upstreamPort, int redisPort) => RateLimited(upstreamPort, redisPort, clusterSettings: string.Empty);

    /// <summary>Every per-request feature on, with the contract keys of ARCHITECTURE.md (limits far above the load).</summary>
    public static string GatewayFull(int upstreamPort, int redisPort) =>
        RateLimited(upstreamPort, redisPort, clusterSettings: "\"SessionAffinity\": { \"Enabled\": true, \"AffinityKeyName\": \"bench-affinity\" },");

    /// <summary>One route under a Redis-backed limit; <paramref name="clusterSettings"/> adds keys to the cluster block.</summary>
    private static string RateLimited(int upstreamPort, int redisPort, string clusterSettings) => $$"""
        {
          "Gateway": {
            "Redis": { "Configuration": "127.0.0.1:{{redisPort}}" },
            "RateLimiting": {
              "Policies": {
                "bench": { "Algorithm": "FixedWindow", "PermitLimit": 1000000000, "Window": "00:00:01", "PartitionBy": "Route", "FailureMode": "Local" }
              }
            }
          },
          "ReverseProxy": {
            "Routes": { "bench": { "ClusterId": "bench", "RateLimiterPolicy": "bench", "Match": { "Path": "{**catch-all}" } } },
            "Clusters": {
              "bench": {
                {{clusterSettings}}
                "Destinations": { "d1": { "Address": "http://127.0.0.1:{{upstreamPort}}/" } }
              }
            }
          }
        }
        """;
}
