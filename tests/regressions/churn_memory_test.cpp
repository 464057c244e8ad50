// Regression: 10^6 subscribe/unsubscribe cycles without a single publish.
//
// Sources: sigslot #5 (https://github.com/palacaze/sigslot/issues/5) and sigslot #38
// (https://github.com/palacaze/sigslot/issues/38): disconnected slots were only cleaned up by
// the next emission, so a program that connects and disconnects without emitting grows without
// bound, and the first emission afterwards pays for all the history. herald frees what an
// unsubscribe removes without waiting for a publish. Asserted on counts, never on time: live
// heap bytes, live handlers, the broker's structure counts, allocations and pattern
// evaluations per publish before and after the churn.
#include <herald/herald.hpp>

#include "counting.hpp"
#include "test_catch.hpp"
#include "test_helpers.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace {

using SafeBroker = herald::Broker<std::string, herald::thread_safe>;
using SingleBroker = herald::Broker<std::string, herald::single_threaded>;

/// Counts live copies: a handler capturing one is alive until the broker destroys it.
struct Alive {
    static inline std::atomic<std::int64_t> count{0};
    Alive() { ++count; }
    Alive(const Alive&) { ++count; }
    Alive(Alive&&) noexcept { ++count; }
    Alive& operator=(const Alive&) = default;
    ~Alive() { --count; }
};

constexpr int cycles = 1000000;
constexpr int warm_up = 10000;
// Allowed growth after the warm-up: far below one byte per cycle, and room for what the broker
// legitimately keeps (a batch of retired objects awaiting reclamation, a few idle channels).
constexpr std::size_t growth_allowed = 64 * 1024;
// Handlers not yet destroyed at any time: bounded by the reclamation batch, not by the history.
constexpr std::int64_t pending_handlers_allowed = 256;

} // namespace

TEMPLATE_TEST_CASE("regression: a million subscribe/unsubscribe cycles without a publish do not "
                   "grow memory, and publishing afterwards costs what it cost before "
                   "(sigslot #5, #38)",
                   "[regression][memory]", SafeBroker, SingleBroker) {
    TestType broker;
    // The permanent audience of one channel and one pattern: what a publish costs is measured
    // on them before and after the churn.
    std::uint64_t received = 0;
    auto exact = broker.subscribe("news", [&](const std::string&) { ++received; });
    auto pattern = broker.psubscribe("news*", [&](const std::string&) { ++received; });
    broker.publish("news", "warm"); // the thread's record and buffers
    const auto cost = [&] {
        const std::uint64_t evaluations = broker.pattern_evaluations();
        herald_test::AllocationCounter::start();
        const std::size_t receivers = broker.publish("news", "x");
        const std::size_t allocations = herald_test::AllocationCounter::stop();
        return std::array<std::uint64_t, 3>{receivers, allocations,
                                            broker.pattern_evaluations() - evaluations};
    };
    const auto cost_before = cost();
    CHECK(cost_before[0] == 2);
    CHECK(cost_before[1] == 0);

    herald::queued polled;
    polled.capacity = 4;
    polled.executor = herald::Executor::polled();
    std::size_t baseline = 0;
    std::int64_t most_pending = 0;
    Alive::count = 0;
    for (int i = 0; i < cycles; ++i) {
        if (i == warm_up) {
            baseline = herald_test::live_heap_bytes();
        }
        // Every kind of handle, on the permanent channel and on others, patterns of every
        // grammar, some of them new to the index.
        const int n = i % 1000;
        switch (i % 6) {
        case 0: {
            auto s = broker.subscribe("news", [a = Alive()](const std::string&) {});
            break;
        }
        case 1: {
            auto s =
                broker.subscribe("chan:" + std::to_string(n), [a = Alive()](const std::string&) {});
            s.unsubscribe();
            break;
        }
        case 2: {
            auto s = broker.psubscribe("user:" + std::to_string(n) + ":*",
                                       [a = Alive()](const std::string&) {});
            break;
        }
        case 3: {
            auto s = broker.psubscribe(herald::nats_pattern("metrics." + std::to_string(n) + ".>"),
                                       [a = Alive()](const std::string&) {});
            break;
        }
        case 4: {
            auto s =
                broker.psubscribe(herald::mqtt_pattern("sensors/+/" + std::to_string(n) + "/#"),
                                  [a = Alive()](const std::string&) {});
            break;
        }
        default: {
            auto s = broker.subscribe(
                "news", [a = Alive()](const std::string&) {}, polled);
            break;
        }
        }
        if (i % 1000 == 0) {
            most_pending = std::max(most_pending, Alive::count.load());
        }
    }
    const std::size_t after = herald_test::live_heap_bytes();

    CHECK(most_pending <= pending_handlers_allowed);
    CHECK(Alive::count.load() <= pending_handlers_allowed);
    CHECK(after <= baseline + growth_allowed);
    // Structure counts: only the permanent audience is left.
    const auto stats = broker.stats();
    CHECK(stats.subscriptions == 2);
    CHECK(stats.channels == 1);
    CHECK(stats.patterns == 1);
    CHECK(broker.numsub("news") == 1);
    CHECK(broker.numpat() == 1);
    CHECK(broker.channels() == std::vector<std::string>{"news"});
    // A publish costs exactly what it cost before: same receivers, no allocation, same number
    // of pattern evaluations.
    const auto cost_after = cost();
    CHECK(cost_after == cost_before);
    broker.shutdown();
    CHECK(Alive::count.load() == 0);
}
