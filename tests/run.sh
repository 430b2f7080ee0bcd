#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs the real servers the functional tests start on loopback
# (redis-server, prometheus/promtool, kubectl, dnsmasq, dig, chromium) and Native AOT's toolchain (clang, zlib1g-dev)
# when they are missing, builds Release and the native build the image ships, runs every test project: the unit tests
# in-process, the functional tests against the native executable (GATEWAY_TEST_EXECUTABLE).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
{ command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; } || missing+=(prometheus)
command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)
# dnsmasq-base is the binary alone (the dnsmasq package would also start a system resolver on port 53); dig checks the DNS fixture.
{ [ -x /usr/sbin/dnsmasq ] || command -v dnsmasq >/dev/null 2>&1; } || missing+=(dnsmasq-base)
command -v dig >/dev/null 2>&1 || missing+=(bind9-dnsutils)
# The CORS tests drive a real headless browser.
[ -x /usr/bin/chromium ] || missing+=(chromium)
# Native AOT links with the platform toolchain.
command -v clang >/dev/null 2>&1 || missing+=(clang)
[ -f /usr/include/zlib.h ] || missing+=(zlib1g-dev)
if [ ${#missing[@]} -gt 0 ]; then
  echo "tests/run.sh: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

dotnet build Gateway.sln -c Release -nologo -clp:ErrorsOnly
# The benchmarks are not a test project, but they must keep compiling against the gateway's internals.
dotnet build tests/Gateway.Benchmarks -c Release -nologo -clp:ErrorsOnly
# The build the image ships (docs/performance.md): the functional tests start this executable.
dotnet publish src/Gateway/Gateway.csproj -c Release -p:PublishAot=true -o artifacts/aot -nologo -clp:ErrorsOnly
export GATEWAY_TEST_EXECUTABLE="$PWD/artifacts/aot/Gateway"
log=$(mktemp)
status=0
dotnet test Gateway.sln -c Release --no-build -nologo "$@" 2>&1 | tee "$log" || status=$?

# One plain closing line over all test projects.
passed=$(grep -oE 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -oE 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
rm -f "$log"
echo "${passed} passed, ${failed} failed"
exit $status
