#pragma once
// Shared pieces of herald's benchmarks: the payloads, the workload inputs every implementation
// sees identically, and a cache that keeps one expensive fixture alive across the repeated
// calls Google Benchmark makes to one benchmark function.
//
// Benchmark names follow "W<n>.<what>/<parameter>/<implementation>"; scripts/bench.sh groups
// the tables by the first two parts and compares every implementation whose name starts with
// "herald" against every other one.

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bench {

/// The W1/W4 payload: 64 bytes, passed by const reference to inline handlers.
struct Payload64 {
    std::uint64_t words[8];
};
static_assert(sizeof(Payload64) == 64);

/// The work every handler does: read the payload, write somewhere the optimiser cannot drop.
inline void consume(std::uint64_t* sink, const Payload64& p) noexcept {
    *sink += p.words[0];
}
inline void consume(std::uint64_t* sink, const std::string& s) noexcept {
    *sink += s.size();
}

/// A fixed pseudo-random sequence of indexes in [0, n): every implementation publishes to the
/// same channels in the same order. A power-of-two length so the hot loop wraps with a mask.
inline std::vector<std::uint32_t> random_indexes(std::size_t n, std::uint64_t seed = 20261123) {
    constexpr std::size_t length = std::size_t{1} << 16;
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<std::uint64_t> pick(0, n - 1);
    std::vector<std::uint32_t> out(length);
    for (auto& i : out) {
        i = static_cast<std::uint32_t>(pick(rng));
    }
    return out;
}
inline constexpr std::size_t random_mask = (std::size_t{1} << 16) - 1;

/// Concatenates strings. (GCC 12 warns falsely, -Wrestrict, on `"literal" + std::string` at
/// -O3, which -Werror turns into an error.)
inline std::string join(std::initializer_list<std::string_view> parts) {
    std::string out;
    for (std::string_view p : parts) {
        out.append(p);
    }
    return out;
}

/// W2 channel names: short enough for the small-string buffer, as real channel names are.
inline std::string channel_name(std::size_t i) {
    return join({"room:", std::to_string(i)});
}
/// W2 names that nobody subscribes to.
inline std::string missing_name(std::size_t i) {
    return join({"void:", std::to_string(i)});
}

/// W3: the channel a sensor publishes on and the specific pattern each subscriber uses.
inline std::string sensor_channel(std::size_t id, char sep) {
    const char separator[1] = {sep};
    const std::string_view s(separator, 1);
    return join({"sensor", s, std::to_string(id), s, "reading"});
}
inline std::string sensor_glob(std::size_t id) {
    return join({"sensor:", std::to_string(id), ":*"});
}
inline std::string sensor_nats(std::size_t id) {
    return join({"sensor.", std::to_string(id), ".*"});
}
/// The few broad patterns added to every W3 set: each matches many channels.
inline std::vector<std::string> broad_globs() {
    return {"sensor:*", "*:reading", "sensor:1*"};
}
inline std::vector<std::string> broad_nats() {
    return {"sensor.>", "*.*.reading", "sensor.*.*"};
}

/// The W2 payload, published as the broker's default std::string payload.
inline const std::string& string_payload() {
    static const std::string payload = "{\"temp\":21.5,\"unit\":\"C\"}";
    return payload;
}

/// Keeps the most recently built fixture alive while the same (type, key) is asked for again:
/// Google Benchmark calls a benchmark function several times (estimation, then each
/// repetition), and building 10^6 subscriptions once instead of a dozen times keeps the run
/// short. Only one fixture lives at a time, so big fixtures of different benchmarks never
/// coexist and never disturb each other's caches.
struct FixtureSlot {
    std::shared_ptr<void> fixture;
    const void* type = nullptr;
    std::size_t key = 0;
};
inline FixtureSlot& fixture_slot() {
    static FixtureSlot slot;
    return slot;
}

template <class F, class Build>
F& cached_fixture(std::size_t key, Build build) {
    FixtureSlot& slot = fixture_slot();
    static const char type_tag = 0; // one per instantiation: identifies F (and its builder)
    if (slot.type != &type_tag || slot.key != key) {
        slot.fixture.reset(); // free the previous one before building the next
        std::shared_ptr<F> fresh = build();
        slot.fixture = fresh;
        slot.type = &type_tag;
        slot.key = key;
    }
    return *static_cast<F*>(slot.fixture.get());
}

inline std::int64_t now_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

} // namespace bench
