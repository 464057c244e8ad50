#!/usr/bin/env bash
# Instructions per publish on the inline paths, counted by callgrind: repeatable whatever else
# the machine is doing, so a change to the data path can be compared before and after on a busy
# machine. Builds bench/instructions.cpp (release preset) and prints a table.
#
#   scripts/instructions.sh             # 1, 10 and 100 subscribers on every path
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/install-deps.sh cmake g++ make pkg-config valgrind catch2 libfmt-dev libasio-dev \
    nlohmann-json3-dev redis-server libbenchmark-dev libboost-dev \
    libsigc++-3.0-dev libzmq3-dev libconcurrentqueue-dev libhiredis-dev
if command -v ccache >/dev/null; then
    export CMAKE_CXX_COMPILER_LAUNCHER=ccache
fi
build="$root/build/release"
cmake --preset release >/dev/null
cmake --build "$build" --target herald_bench_instructions -j2 >/dev/null
binary="$build/bench/herald_bench_instructions"

count() { # path subscribers messages -> instructions of the whole run
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$binary" "$@" 2>&1 >/dev/null |
        awk '/Collected/ { gsub(",", "", $4); print $4 }'
}

echo "| path | 1 subscriber | 10 | 100 |"
echo "| --- | --- | --- | --- |"
for path in string topic publisher single_threaded; do
    row="| $path"
    for subscribers in 1 10 100; do
        low=$(count "$path" "$subscribers" 20000)
        high=$(count "$path" "$subscribers" 40000)
        row="$row | $(((high - low) / 20000))"
    done
    echo "$row |"
done
echo "instructions per publish: (I(40000) - I(20000)) / 20000, $(git rev-parse --short HEAD)"
