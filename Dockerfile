# syntax=docker/dockerfile:1
# Gateway image: `docker build -t gateway .` from the repo root (docs/deploy.md "Image").
# The Native AOT build (docs/performance.md says why: full speed from the first second in a 1-CPU pod), run on the
# chiseled runtime-deps image: no .NET runtime, no shell, no package manager, non-root by default.

# Native AOT compiles machine code for one platform, so this stage runs once per target platform
# (docker buildx build --platform linux/amd64,linux/arm64 . builds each, emulated where the builder differs).
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
ARG TARGETARCH
# The native toolchain Native AOT links with.
RUN apt-get update && apt-get install -y --no-install-recommends clang zlib1g-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Restore first, from the files that decide packages only, so code edits reuse the restore layer.
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/Gateway/Gateway.csproj src/Gateway/
RUN dotnet restore src/Gateway/Gateway.csproj -a $TARGETARCH -p:PublishAot=true
COPY src/Gateway/ src/Gateway/
RUN dotnet publish src/Gateway/Gateway.csproj -c Release -a $TARGETARCH -p:PublishAot=true -o /app/publish --no-restore
# The native debug symbols (~150 MB) stay out of the image.
RUN rm -f /app/publish/*.dbg

FROM mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled AS runtime
WORKDIR /app
# Owned by root and read-only to the app user; the root filesystem can be mounted read-only.
COPY --from=build /app/publish ./
# Default config so `docker run` works on its own (the shipped config/gateway.json: nothing discovered from Kubernetes);
# in Kubernetes the ConfigMap (its gateway.json is config/kubernetes.json) is mounted over /app/config.
COPY config/gateway.json config/gateway.json
# Container settings (docs/deploy.md "Image" says why):
# - GC: Workstation, non-concurrent, compiled into the binary from the project (the benchmark measured Server GC and
#   background GC losing throughput and memory in a 1-CPU pod), and a 4 MB gen0 budget (docs/performance.md#memory).
#   The GC heap limit stays at 75% of the memory limit.
# - Socket completions inline and two malloc arenas: the process sets them itself (Foundation/ProcessDefaults), so the
#   image needs no ENV for them and `./Gateway` on a VM runs the same.
# - ASPNETCORE_HTTP_PORTS cleared: a base image's 8080 default would be overridden (with a warning) by the gateway's two
#   named Kestrel endpoints, proxy 8080 and management 8081 (Kestrel__Endpoints__*__Url).
# - DOTNET_RUNNING_IN_CONTAINER=true (also set by the base image): JSON console logs.
ENV ASPNETCORE_HTTP_PORTS= \
    DOTNET_RUNNING_IN_CONTAINER=true
EXPOSE 8080 8081
# The base image's non-root `app` user (UID 1654), numeric so Kubernetes can check runAsNonRoot.
USER 1654
# No HEALTHCHECK: the image has no shell or curl; Kubernetes probes GET /healthz/live and /healthz/ready on 8081.
ENTRYPOINT ["/app/Gateway"]
