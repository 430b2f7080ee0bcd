#!/usr/bin/env bash
# Load benchmark: builds Release, installs wrk/nginx/haproxy/redis-server if missing, then one interleaved run over
# direct / nginx / HAProxy / gateway (minimal, full, metrics off) / plain YARP / naive forwarder, in two placements.
#   tests/Gateway.Benchmarks/run.sh                 # the comparison (~35 min: round 1 warms each target until steady)
#   tests/Gateway.Benchmarks/run.sh --knobs         # A/B of runtime settings on the minimal gateway
#   tests/Gateway.Benchmarks/run.sh micro [--filter '*Drain*']   # BenchmarkDotNet micro-benchmarks (all when no args)
#   tests/Gateway.Benchmarks/run.sh soak [--minutes 20 --clients 8 --rps-per-client 40]   # reloads, kills, a Redis restart
# Options for load runs: --rounds N --duration S --warmup S --connections N --placements unpinned,pinned
#   --steady-pct P --steady-chunks N --max-warmup S   (round 1 warms in --warmup chunks until N chunks are within P %)
#   --only gateway-minimal,nginx   --knob "label:ENV=V;ENV2=V2" (repeatable, with --knobs)
# Results: benchmark-results/results-<date>.md (gitignored).
set -euo pipefail
cd "$(dirname "$0")/../.."

missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v nginx >/dev/null 2>&1 || missing+=(nginx-light)
command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v taskset >/dev/null 2>&1 || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ]; then
  echo "run.sh: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

dotnet build src/Gateway/Gateway.csproj -c Release -nologo -clp:ErrorsOnly
dotnet build tests/Gateway.Benchmarks/Gateway.Benchmarks.csproj -c Release -nologo -clp:ErrorsOnly
bench=tests/Gateway.Benchmarks/bin/Release/net10.0/Gateway.Benchmarks.dll

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
