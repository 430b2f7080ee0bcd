// The EndpointSlice watch: a list call with watch=true, whose body is one JSON watch event per line.
// Gap: KubernetesClient.Aot (the client's Native AOT build) leaves out the full client's Watcher and WatchListAsync
// helpers. Its list call still streams, so StreamingKubernetes hands back the unread body and we read the events here,
// as the full client's Watcher does (an ERROR event or a Status object goes to onError; a line that does not parse too).
using System.Runtime.CompilerServices;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Gateway.Discovery;

internal enum WatchEventType
{
    Added,
    Modified,
    Deleted,
    Bookmark,
}

/// <summary>The client, except that a watch request's response body is left unread for <see cref="EndpointSliceWatch"/>.</summary>
internal sealed class StreamingKubernetes(KubernetesClientConfiguration configuration) : Kubernetes(configuration)
{
    protected override Task<HttpOperationResponse<T>> CreateResultAsync<T>(HttpRequestMessage httpRequest, HttpResponseMessage httpResponse, bool? watch, CancellationToken cancellationToken) =>
        watch == true
            ? Task.FromResult(new HttpOperationResponse<T> { Request = httpRequest, Response = httpResponse })
            : base.CreateResultAsync<T>(httpRequest, httpResponse, watch, cancellationToken);
}

internal static class EndpointSliceWatch
{
    /// <summary>The events of one watch, until the server ends it; <paramref name="client"/> must be a <see cref="StreamingKubernetes"/>.</summary>
    public static async IAsyncEnumerable<(WatchEventType Type, V1EndpointSlice Slice)> WatchAsync(
        IKubernetes client,
        string @namespace,
        string? labelSelector,
        string? resourceVersion,
        int timeoutSeconds,
        Action<Exception> onError,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var response = await client.DiscoveryV1.ListNamespacedEndpointSliceWithHttpMessagesAsync(
            @namespace,
            allowWatchBookmarks: true,
            labelSelector: labelSelector,
            resourceVersion: resourceVersion,
            timeoutSeconds: timeoutSeconds,
            watch: true,
            cancellationToken: cancellationToken).ConfigureAwait(false);
        using var stream = await response.Response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        using var reader = new StreamReader(stream);
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            if (line.Length > 0 && Parse(line, onError) is { } watchEvent)
            {
                yield return watchEvent;
            }
        }
    }

    /// <summary>One line of the stream: an event, or null after telling <paramref name="onError"/> why not.</summary>
    internal static (WatchEventType Type, V1EndpointSlice Slice)? Parse(string line, Action<Exception> onError)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            var type = root.GetProperty("type").GetString();
            var item = root.GetProperty("object");
            if (type == "ERROR" || (item.TryGetProperty("kind", out var kind) && kind.ValueEquals("Status")))
            {
                onError(new KubernetesException(KubernetesJson.Deserialize<V1Status>(item)));
                return null;
            }

            WatchEventType? parsed = type switch
            {
                "ADDED" => WatchEventType.Added,
                "MODIFIED" => WatchEventType.Modified,
                "DELETED" => WatchEventType.Deleted,
                "BOOKMARK" => WatchEventType.Bookmark,
                _ => null,
            };
            if (parsed is null)
            {
                onError(new FormatException($"unknown watch event type '{type}'"));
                return null;
            }

            return (parsed.Value, KubernetesJson.Deserialize<V1EndpointSlice>(item));
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            onError(ex);
            return null;
        }
    }
}
