#!/usr/bin/env bash
# Builds herald and passes every test on a fresh Debian/Ubuntu machine, installing what is
# missing: the suite in a debug build (unit, regressions, stress, examples, conformance against
# real redis-server / nats-server / libmosquitto, package consumers, compile-fail and header
# checks, the Redis bridge against a redis-server the tests start), again under
# AddressSanitizer + UndefinedBehaviorSanitizer, the unit, stress and Redis bridge tests under
# ThreadSanitizer, the suite again in an optimised (Release) build, and a clang build that runs
# the unit, stress and Redis bridge tests and bounded libFuzzer runs. The presets build with
# HERALD_WERROR=ON: every warning of either compiler fails the check.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh cmake g++ make pkg-config catch2 libfmt-dev \
    redis-server redis-tools nats-server libmosquitto-dev libhiredis-dev nlohmann-json3-dev \
    libasio-dev clang libclang-rt-14-dev ccache
if command -v ccache >/dev/null; then
    export CMAKE_CXX_COMPILER_LAUNCHER=ccache
    # Paths relative to the checkout, and no working directory in the hash: a second clone (CI's)
    # reuses what a first one compiled.
    export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true
fi
started=$(date +%s)
for preset in dev asan-ubsan tsan release-tests fuzz; do
    echo "== herald: ${preset} =="
    cmake --workflow --preset "$preset"
done
echo "== herald: every configuration passed in $(( $(date +%s) - started )) s =="
