#!/usr/bin/env bash
# Runs every plugin suite: unit, MVC pipeline (TestHost), real-cdylib engine, HLS over Kestrel,
# headless Chromium + hls.js, packaging. Installs what it needs; never builds the Rust library
# (the top-level script does, and exports JELLYSCALE_LIB; otherwise ../target/debug is used).
# With CI=true a missing prerequisite fails its test, and any skipped test fails the run.
set -euo pipefail
cd "$(dirname "$0")"

if [ "$(id -u)" = 0 ]; then
    missing=()
    [ -x /usr/bin/chromium ] || missing+=(chromium)
    [ -x /usr/bin/ffmpeg ] || missing+=(ffmpeg)
    if [ ${#missing[@]} -gt 0 ]; then
        echo "test.sh: apt-get install ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
fi

echo "test.sh: npm ci (hls.js, playwright-core)"
(cd browser-test && npm ci --no-audit --no-fund --loglevel=error)

echo "test.sh: build against the Jellyfin 10.10 and 10.11 contracts (net10.0)"
dotnet build Jellyscale.Tests/Jellyscale.Tests.csproj --nologo -v q
dotnet build Jellyscale.Tests/Jellyscale.Tests.csproj --nologo -v q -p:JellyfinVersion=10.11

log=$(mktemp)
trap 'rm -f "$log"' EXIT
total_passed=0 total_failed=0 total_skipped=0 status=0

# run_suite NAME ARGS...: runs dotnet test, adds its counts to the totals.
run_suite() {
    local name=$1
    shift
    echo "test.sh: ${name}"
    set +e
    dotnet test Jellyscale.Tests/Jellyscale.Tests.csproj --no-build --nologo "$@" 2>&1 | tee "$log"
    local code=${PIPESTATUS[0]}
    set -e
    local summary
    summary=$(grep -E 'Failed:[[:space:]]+[0-9]+, Passed:[[:space:]]+[0-9]+, Skipped:[[:space:]]+[0-9]+' "$log" | tail -n 1 || true)
    if [ -z "$summary" ]; then
        echo "test.sh: ${name}: no test summary found"
        status=1
        return
    fi
    total_failed=$((total_failed + $(sed -E 's/.*Failed:[[:space:]]+([0-9]+).*/\1/' <<<"$summary")))
    total_passed=$((total_passed + $(sed -E 's/.*Passed:[[:space:]]+([0-9]+).*/\1/' <<<"$summary")))
    total_skipped=$((total_skipped + $(sed -E 's/.*Skipped:[[:space:]]+([0-9]+).*/\1/' <<<"$summary")))
    [ "$code" -eq 0 ] || status=1
}

run_suite "all suites, Jellyfin 10.10 contract"
# The Jellyfin-facing tests again against the 10.11 signatures (the engine suites do not depend on them).
run_suite "Jellyfin-facing suites, Jellyfin 10.11 contract" -p:JellyfinVersion=10.11 \
    --filter "FullyQualifiedName~Jellyscale.Tests.Plugin|FullyQualifiedName~PlaybackInfoFilterTests"

echo "plugin: ${total_passed} passed, ${total_failed} failed, ${total_skipped} skipped"
if [ "$status" -ne 0 ] || [ "$total_failed" -ne 0 ]; then
    exit 1
fi
if [ "${CI:-}" = "true" ] && [ "$total_skipped" -ne 0 ]; then
    echo "test.sh: skipped tests count as failures in CI"
    exit 1
fi
if [ "$total_passed" -eq 0 ]; then
    echo "test.sh: no test ran"
    exit 1
fi
