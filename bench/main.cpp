// herald_bench: W1 (inline fan-out), W2 (string routing), W3 (patterns) and W5 (churn), herald
// and its peers in one binary built with the same flags. Implementations of one workload size
// are registered next to each other so a noisy machine's drift hurts the ratios least.
// W4 (queued) lives in herald_bench_queued and W6 (memory) in herald_bench_memory.

#include "workloads.hpp"

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdlib>
#include <string>

namespace {

/// HERALD_BENCH_QUICK=1 trims the biggest sizes (for trying the harness, not for results).
bool quick() {
    const char* q = std::getenv("HERALD_BENCH_QUICK");
    return q != nullptr && std::string(q) == "1";
}

/// Redis scans every pattern on every publish (milliseconds at 100,000 patterns);
/// HERALD_BENCH_REDIS_MAX_PATTERNS bounds the W3 sizes it is run at.
std::size_t redis_max_patterns() {
    const char* v = std::getenv("HERALD_BENCH_REDIS_MAX_PATTERNS");
    return v != nullptr ? static_cast<std::size_t>(std::stoull(v)) : 100000;
}

void register_all() {
    using namespace bench;
    for (std::size_t n : {std::size_t{1}, std::size_t{10}, std::size_t{100}}) {
        add_w1_peers(n);
#if HERALD_BENCH_WITH_HERALD
        add_w1_herald(n);
#endif
    }
    for (std::size_t n : {std::size_t{10000}, std::size_t{1000000}}) {
        if (quick() && n > 10000) {
            continue;
        }
        add_w2_peers(n);
#if HERALD_BENCH_WITH_HERALD
        add_w2_herald(n);
#endif
        add_w2_redis(n);
    }
    for (std::size_t n :
         {std::size_t{100}, std::size_t{1000}, std::size_t{10000}, std::size_t{100000}}) {
        if (quick() && n > 10000) {
            continue;
        }
        add_w3_peers(n);
#if HERALD_BENCH_WITH_HERALD
        add_w3_herald(n);
#endif
        if (n <= redis_max_patterns()) {
            add_w3_redis(n);
        }
    }
    add_w5_peers();
#if HERALD_BENCH_WITH_HERALD
    add_w5_herald();
#endif
}

} // namespace

int main(int argc, char** argv) {
    register_all();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
        return 1;
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
