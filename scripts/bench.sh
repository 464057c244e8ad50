#!/usr/bin/env bash
# Builds and runs herald's benchmarks against its peers, prints per-workload tables and writes
# bench/RESULTS.md. On a fresh Debian machine it installs what it needs first.
#
#   scripts/bench.sh                 # everything, 5 repetitions (about 15 minutes on 2 cores)
#
# Environment (all optional):
#   HERALD_BENCH_REPETITIONS=5       repetitions of every benchmark (at least 5 for RESULTS.md)
#   HERALD_BENCH_MIN_TIME=0.1        seconds per repetition of the in-process benchmarks
#   HERALD_BENCH_FILTER=regex        only the matching benchmarks of herald_bench and
#                                    herald_bench_queued
#   HERALD_BENCH_SUBSCRIPTIONS=1000000     W6 subscriptions per measurement
#   HERALD_BENCH_HERALD_ONE_CHANNEL=100000 W6: herald's one-channel size (see RESULTS.md notes)
#   HERALD_BENCH_REDIS_MAX_PATTERNS=100000 W3: largest pattern set Redis is measured with
#   HERALD_BENCH_BUILD_DIR=build/bench     where to build
#   HERALD_BENCH_RESULTS=bench/RESULTS.md  where to write the report
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${HERALD_BENCH_BUILD_DIR:-$root/build/bench}"
results="${HERALD_BENCH_RESULTS:-$root/bench/RESULTS.md}"
repetitions="${HERALD_BENCH_REPETITIONS:-5}"
min_time="${HERALD_BENCH_MIN_TIME:-0.1}"
filter="${HERALD_BENCH_FILTER:-.}"
subscriptions="${HERALD_BENCH_SUBSCRIPTIONS:-1000000}"
one_channel="${HERALD_BENCH_HERALD_ONE_CHANNEL:-100000}"
command_line="scripts/bench.sh"
for v in HERALD_BENCH_REPETITIONS HERALD_BENCH_MIN_TIME HERALD_BENCH_FILTER \
    HERALD_BENCH_SUBSCRIPTIONS HERALD_BENCH_HERALD_ONE_CHANNEL HERALD_BENCH_REDIS_MAX_PATTERNS; do
    if [[ -n "${!v:-}" ]]; then command_line="$v=${!v} $command_line"; fi
done
export HERALD_BENCH_REDIS_MAX_PATTERNS="${HERALD_BENCH_REDIS_MAX_PATTERNS:-100000}"

# ---- 1. the peers, from Debian packages ------------------------------------------------------
packages=(cmake g++ make pkg-config python3 libbenchmark-dev libboost-dev libsigc++-3.0-dev
    libzmq3-dev libconcurrentqueue-dev redis-server libhiredis-dev)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "bench: installing ${missing[*]}"
    sudo=""
    if [[ "$(id -u)" -ne 0 ]]; then sudo="sudo"; fi
    $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi
# Debian enables and starts redis-server on install; the benchmarks start their own on a free
# port and never touch a system one.

# ---- 2. build -------------------------------------------------------------------------------
nice -n 5 cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DHERALD_BUILD_BENCH=ON \
    -DHERALD_BUILD_TESTS=OFF -DHERALD_BUILD_EXAMPLES=OFF -DHERALD_BENCH_WITH_HERALD=ON >/dev/null
nice -n 5 cmake --build "$build" -j2 --target herald_bench herald_bench_queued herald_bench_memory

# ---- 3. run ---------------------------------------------------------------------------------
out="$build/results"
mkdir -p "$out"
common=(--benchmark_repetitions="$repetitions" --benchmark_display_aggregates_only=true
    --benchmark_filter="$filter" --benchmark_out_format=json)
started=$(date +%s)
echo "bench: W1, W2, W3, W5 (herald_bench)"
"$build/bench/herald_bench" "${common[@]}" --benchmark_min_time="$min_time" \
    --benchmark_out="$out/inline.json"
echo "bench: W4 (herald_bench_queued)"
"$build/bench/herald_bench_queued" "${common[@]}" --benchmark_out="$out/queued.json"
echo "bench: W6 (herald_bench_memory)"
"$build/bench/herald_bench_memory" --subscriptions="$subscriptions" \
    --herald-one-channel="$one_channel" --json="$out/memory.json"
elapsed=$(($(date +%s) - started))

# ---- 4. report ------------------------------------------------------------------------------
cxx="$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")"
flags="$(sed -n 's/^CMAKE_CXX_FLAGS_RELEASE:[A-Z]*=//p' "$build/CMakeCache.txt") -std=c++20"
version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "?"; }
python3 - "$out/meta.json" <<EOF
import json, sys
meta = {
    "date": "$(date -u '+%Y-%m-%d %H:%M UTC')",
    "command": "$command_line",
    "cpu": "$(lscpu | sed -n 's/^Model name: *//p' | head -1)",
    "cores": "$(nproc)",
    "load": "$(cut -d' ' -f1-3 /proc/loadavg)",
    "kernel": "$(uname -r)",
    "compiler": "$("$cxx" --version | head -1)",
    "flags": "$flags",
    "repetitions": "$repetitions",
    "min_time": "$min_time",
    "versions": {
        "herald": "$(awk '/define HERALD_VERSION_(MAJOR|MINOR|PATCH) /{v = v sep $3; sep = "."} END{print v}' "$root/include/herald/version.hpp") (git $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?') + working tree)",
        "Google Benchmark": "$(version libbenchmark-dev)",
        "Boost.Signals2": "$(version libboost-dev)",
        "libsigc++": "$(version libsigc++-3.0-dev)",
        "ZeroMQ": "$(version libzmq3-dev)",
        "moodycamel::ConcurrentQueue": "$(version libconcurrentqueue-dev)",
        "redis-server": "$(version redis-server)",
        "hiredis": "$(version libhiredis-dev)",
    },
    "notes": [
        "Benchmarks ran for ${elapsed} s in total.",
        "W1: 64-byte payload by const reference; each handler adds one payload word to a counter. herald_publisher = thread-safe broker through broker.publisher(topic); herald_publish_topic = broker.publish(topic, payload) with its channel lookup; herald_single_threaded = Broker<std::string, herald::single_threaded> through its publisher.",
        "W2/W3: channels are published in one fixed pseudo-random order, the same for every implementation. Redis: one subscriber connection holding every SUBSCRIBE/PSUBSCRIBE and one publisher connection on 127.0.0.1; one iteration = PUBLISH round trip + reading every delivered message. Redis PSUBSCRIBE was measured up to ${HERALD_BENCH_REDIS_MAX_PATTERNS} patterns.",
        "W3: n specific patterns (sensor:<id>:* or NATS sensor.<id>.*) plus 3 broad ones (sensor:*, *:reading, sensor:1* / sensor.>, *.*.reading, sensor.*.*); publishes go to sensor:<id>:reading for random existing ids. The linear scan calls herald::glob_match (NATS: herald's matcher on pre-validated patterns) on every pattern.",
        "W4: 64-byte messages with the publish time inside; every subscriber receives every message; queues bounded to 8192 messages per subscriber and lossless (a full queue makes the publisher wait: herald Overflow::block, ZeroMQ XPUB with ZMQ_XPUB_NODROP and HWM 8192, moodycamel's publisher waits while size_approx() reaches 8192 and its receiver polls (the ceiling; the others block), mutex+deque waits on a condition variable). Throughput: 2^20 messages in total; deliveries/s over all subscribers. Latency: 100,000 messages paced at 100 k msg/s in total (2→2: 50 k msg/s per publisher), blocking receivers. herald runs handlers on BrokerOptions::workers = number of subscribers.",
        "W5: subscribe + unsubscribe of one handler on a channel while another channel has 100 subscribers.",
        "W6: herald's one-channel figure is measured at ${one_channel} subscriptions, not 10^6: each subscribe copies the channel's whole subscriber array (copy-on-write), so filling one channel is quadratic (see 'time to subscribe': 10^6 would take about 100 times the 10^5 figure). Bytes per subscription do not depend on n beyond that array (8 bytes per entry). 'settled' = after reclamation of replaced arrays; the figure right after the last subscribe is shown too.",
        "Google Benchmark prints 'Library was built as DEBUG' for Debian's libbenchmark-dev; the timed code is built Release (-O3).",
    ],
}
json.dump(meta, open(sys.argv[1], "w"), indent=1)
EOF
python3 "$root/bench/report.py" --inline "$out/inline.json" --queued "$out/queued.json" \
    --memory "$out/memory.json" --meta "$out/meta.json" --out "$results"
echo "bench: wrote $results"
