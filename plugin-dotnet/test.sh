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

echo "test.sh: build (Jellyfin 10.10 contract, net10.0) and compile check (10.11 contract)"
dotnet build Jellyscale.Tests/Jellyscale.Tests.csproj --nologo -v q
dotnet build Jellyscale.Plugin/Jellyscale.Plugin.csproj --nologo -v q -p:JellyfinVersion=10.11

log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
dotnet test Jellyscale.Tests/Jellyscale.Tests.csproj --no-build --nologo 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

summary=$(grep -E 'Failed:[[:space:]]+[0-9]+, Passed:[[:space:]]+[0-9]+, Skipped:[[:space:]]+[0-9]+' "$log" | tail -n 1 || true)
failed=$(sed -E 's/.*Failed:[[:space:]]+([0-9]+).*/\1/' <<<"$summary")
passed=$(sed -E 's/.*Passed:[[:space:]]+([0-9]+).*/\1/' <<<"$summary")
skipped=$(sed -E 's/.*Skipped:[[:space:]]+([0-9]+).*/\1/' <<<"$summary")
if [ -z "$summary" ]; then
    echo "test.sh: no test summary found"
    exit 1
fi
echo "plugin: ${passed} passed, ${failed} failed, ${skipped} skipped"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ]; then
    exit 1
fi
if [ "${CI:-}" = "true" ] && [ "$skipped" -ne 0 ]; then
    echo "test.sh: skipped tests count as failures in CI"
    exit 1
fi
if [ "$passed" -eq 0 ]; then
    echo "test.sh: no test ran"
    exit 1
fi
