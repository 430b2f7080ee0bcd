namespace Gateway.Tls;

/// <summary>What a cluster's pool was built with: its Tls block and the version of the files it names (record equality).</summary>
internal sealed record UpstreamPoolSettings(UpstreamTlsSettings Tls, long FilesVersion);
