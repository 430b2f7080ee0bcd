# syntax=docker/dockerfile:1
# Gateway image: `docker build -t gateway .` from the repo root (docs/deploy.md "Image").
# Build with the SDK, run on the chiseled ASP.NET image: no shell, no package manager, non-root by default.

# The build stage runs on the builder's own platform: the output is framework-dependent IL, so one publish
# serves every target architecture (docker buildx build --platform linux/amd64,linux/arm64 .).
FROM --platform=$BUILDPLATFORM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Restore first, from the files that decide packages only, so code edits reuse the restore layer.
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/Gateway/Gateway.csproj src/Gateway/
RUN dotnet restore src/Gateway/Gateway.csproj
COPY src/Gateway/ src/Gateway/
RUN dotnet publish src/Gateway/Gateway.csproj -c Release -o /app/publish --no-restore -p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled AS runtime
WORKDIR /app
# Owned by root and read-only to the app user; the root filesystem can be mounted read-only.
COPY --from=build /app/publish ./
# Default config so `docker run` works on its own (the shipped config/gateway.json: nothing discovered from Kubernetes);
# in Kubernetes the ConfigMap (its gateway.json is config/kubernetes.json) is mounted over /app/config.
COPY config/gateway.json config/gateway.json
# Container settings (docs/deploy.md "Image" says why):
# - GC: the project's runtimeconfig (Workstation, non-concurrent GC, TieredPGO) is kept on purpose. The benchmark
#   (docs/benchmarks.md "Runtime settings") measured Server GC and background GC losing throughput and memory in a
#   1-CPU pod.
#   The GC heap limit stays at the runtime's default, 75% of the container's memory limit.
# - ASPNETCORE_HTTP_PORTS cleared: the base image's 8080 default would be overridden (with a warning) by the
#   gateway's two named Kestrel endpoints, proxy 8080 and management 8081 (Kestrel__Endpoints__*__Url).
# - DOTNET_RUNNING_IN_CONTAINER=true (also set by the base image): JSON console logs.
# - DOTNET_TC_CallCountingDelayMs=0: hot methods reach optimized code without the runtime's quiet-period wait, which
#   is 1 s on a 1-CPU pod (100 ms x 10) and restarts with every new method; the benchmark measured a pinned gateway
#   reaching steady throughput in ~20 s instead of ~60 s, where it served at a third of its speed.
# - DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1: socket completions run on the epoll thread instead of hopping to
#   the thread pool; a proxy does two sockets' worth of I/O per request, so the hop is a large share of its work. The
#   benchmark measured +10% req/s pinned and +25% unpinned, 10-18% less CPU per request. Safe because nothing on the
#   request path blocks (Redis calls are async with timeouts; Data Protection refreshes its key ring in the background).
# - MALLOC_ARENA_MAX=2: glibc keeps at most two malloc arenas instead of up to 8 per core; in the soak (reloads,
#   destination kills, a Redis restart) RSS grew +13.8 % in 8 minutes with glibc's default and +6.5 % with this, while
#   the managed heap stayed flat in both: the growth was native memory spread over per-thread arenas.
ENV ASPNETCORE_HTTP_PORTS= \
    DOTNET_RUNNING_IN_CONTAINER=true \
    DOTNET_TC_CallCountingDelayMs=0 \
    DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 \
    MALLOC_ARENA_MAX=2
EXPOSE 8080 8081
# The base image's non-root `app` user (UID 1654), numeric so Kubernetes can check runAsNonRoot.
USER 1654
# No HEALTHCHECK: the image has no shell or curl; Kubernetes probes GET /healthz/live and /healthz/ready on 8081.
ENTRYPOINT ["dotnet", "Gateway.dll"]
