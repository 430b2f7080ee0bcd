#!/usr/bin/env bash
# Load benchmark: builds Release, installs wrk/nginx/haproxy/redis-server/h2load/curl if missing, then one interleaved run over
# direct / nginx / HAProxy / gateway (minimal, full, metrics off, ...) / plain YARP / naive forwarder, in two placements.
#   tests/Gateway.Benchmarks/run.sh                 # the comparison (~35 min: round 1 warms each target until steady)
#   tests/Gateway.Benchmarks/run.sh --knobs         # A/B of runtime settings on the minimal gateway
#   tests/Gateway.Benchmarks/run.sh coldstart [--seconds 30] [--rounds 3] [--placements pinned,unpinned]
#                                                   # fresh start -> readiness -> req/s per second (gateway builds, nginx, plain YARP)
#   tests/Gateway.Benchmarks/run.sh idle [--clients 10000]      # RSS per idle keep-alive client connection (gateway builds, nginx)
#   tests/Gateway.Benchmarks/run.sh stream [--mb 100]           # 100 MB upload + download: MB/s, proxy CPU s (direct, gateway builds, nginx)
#   tests/Gateway.Benchmarks/run.sh micro [--filter '*Drain*']   # BenchmarkDotNet micro-benchmarks (all when no args)
#   tests/Gateway.Benchmarks/run.sh soak [--minutes 20 --clients 8 --rps-per-client 40]   # reloads, kills, a Redis restart
#     (--gateway artifacts/aot/Gateway: the native build the image ships; default the JIT build)
# Options for load runs: --rounds N --duration S --warmup S --connections N --placements unpinned,pinned
#   --steady-pct P --steady-chunks N --max-warmup S   (round 1 warms in --warmup chunks until N chunks are within P %)
#   --only gateway-minimal,nginx   --knob "label:ENV=V;ENV2=V2" (repeatable, with --knobs)
#   --h2-streams M   (h2c targets h2c-direct, nginx-grpc, gateway-grpc: h2load with --connections/M connections x M streams)
# Gateway builds (load, coldstart, idle, stream): --gateway-r2r DIR/Gateway --gateway-aot DIR/Gateway add targets
#   gateway-minimal-r2r / -aot (and gateway-grpc-r2r / -aot); --publish-builds publishes both into
#   benchmark-results/builds/{r2r,aot} first and passes them, skipping (with a note) any whose publish fails.
#   --gateway-build NAME=DIR/Gateway: any other build beside them, targets gateway-minimal-NAME.
# Results: benchmark-results/results-<date>[-mode].md (gitignored).
set -euo pipefail
self=$(readlink -f "$0")
cd "$(dirname "$0")/../.."
if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
  sed -n '2,/^set -euo/p' "$self" | sed '$d' | sed 's/^# \{0,1\}//'
  exit 0
fi

missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v nginx >/dev/null 2>&1 || missing+=(nginx-light)
command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v taskset >/dev/null 2>&1 || missing+=(util-linux)
command -v h2load >/dev/null 2>&1 || missing+=(nghttp2-client)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
  echo "run.sh: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

dotnet build src/Gateway/Gateway.csproj -c Release -nologo -clp:ErrorsOnly
dotnet build tests/Gateway.Benchmarks/Gateway.Benchmarks.csproj -c Release -nologo -clp:ErrorsOnly
bench=tests/Gateway.Benchmarks/bin/Release/net10.0/Gateway.Benchmarks.dll

# idle opens 10,000 client sockets (and each proxy as many): the soft descriptor limit up to the hard one.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

mode=load
case "${1:-}" in coldstart|idle|stream) mode=$1; shift ;; esac
args=() builds=()
for a in "$@"; do
  if [ "$a" = "--publish-builds" ]; then
    # Composite ReadyToRun (self-contained) and Native AOT (needs clang + zlib1g-dev) beside the JIT build.
    out=benchmark-results/builds
    mkdir -p "$out"
    if ! command -v clang >/dev/null 2>&1 || ! dpkg -s zlib1g-dev >/dev/null 2>&1; then
      SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends clang zlib1g-dev >/dev/null || true
    fi
    for v in r2r aot; do
      if [ $v = r2r ]; then props=(--self-contained -p:PublishReadyToRun=true -p:PublishReadyToRunComposite=true); else props=(-p:PublishAot=true); fi
      echo "run.sh: publishing the $v build into $out/$v (log: $out/$v-publish.log)"
      rm -rf "${out:?}/$v"
      if dotnet publish src/Gateway/Gateway.csproj -c Release -r linux-x64 "${props[@]}" -o "$out/$v" -nologo >"$out/$v-publish.log" 2>&1 && [ -x "$out/$v/Gateway" ]; then
        builds+=("--gateway-$v" "$out/$v/Gateway")
      else
        why=$(grep -m1 -E 'error' "$out/$v-publish.log" | sed 's/^ *//' | cut -c1-200)
        echo "run.sh: the $v build's publish FAILED, its targets are skipped: ${why:-see $out/$v-publish.log}"
        builds+=(--note "gateway-*-$v skipped: dotnet publish failed ($out/$v-publish.log): ${why:-no error line}")
      fi
    done
  else
    args+=("$a")
  fi
done
set -- ${args[@]+"${args[@]}"} ${builds[@]+"${builds[@]}"}

if [ "$mode" != "load" ]; then
  exec dotnet "$bench" "$mode" --gateway src/Gateway/bin/Release/net10.0/Gateway.dll "$@"
fi
if [ "${1:-}" = "micro" ]; then
  shift
  if [ $# -eq 0 ]; then set -- --filter '*'; fi
  exec dotnet "$bench" micro "$@"
fi
if [ "${1:-}" = "soak" ]; then
  shift
  exec dotnet "$bench" soak --gateway src/Gateway/bin/Release/net10.0/Gateway.dll "$@"
fi
exec dotnet "$bench" load --gateway src/Gateway/bin/Release/net10.0/Gateway.dll "$@"
