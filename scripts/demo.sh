#!/usr/bin/env bash
# Builds and runs the main demo (examples/driver_status.cpp) on a fresh Debian/Ubuntu machine,
# installing the packages it needs when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh cmake g++ make libfmt-dev
cmake -S . -B build/demo -DCMAKE_BUILD_TYPE=Release -DHERALD_BUILD_TESTS=OFF \
      -DHERALD_BUILD_EXAMPLES=ON >/dev/null
cmake --build build/demo -j2 --target herald_example_driver_status
echo
build/demo/examples/driver_status
