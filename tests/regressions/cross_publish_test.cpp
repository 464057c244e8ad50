// Regression: two handlers publishing to each other's topics from two threads.
//
// Source: sigslot #1 ("Library is not thread-safe: deadlock can happen",
// https://github.com/palacaze/sigslot/issues/1) and Poco #5168 (NotificationCenter lock-order
// inversion). Libraries that hold a per-signal mutex while calling slots deadlock when thread 1
// emits A (locking A) whose slot emits B, while thread 2 emits B (locking B) whose slot emits A.
// herald holds no lock while a handler runs, so neither order can block the other.
#include <herald/herald.hpp>

#include "test_catch.hpp"
#include "test_helpers.hpp"

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int iterations = 100000; // per thread

/// Payload: how many more hops the message makes between the two topics.
struct Hop {
    int remaining = 0;
};

} // namespace

TEST_CASE("regression: handlers publishing to each other's topics from two threads never "
          "deadlock (sigslot #1, Poco #5168)",
          "[regression][threads]") {
    herald::Broker<Hop> broker;
    std::atomic<std::uint64_t> on_a{0}, on_b{0};
    std::atomic<std::uint64_t> nested_receivers{0};
    auto a = broker.subscribe("topic:a", [&](const Hop& h) {
        on_a.fetch_add(1, std::memory_order_relaxed);
        if (h.remaining > 0) {
            nested_receivers.fetch_add(broker.publish("topic:b", Hop{h.remaining - 1}),
                                       std::memory_order_relaxed);
        }
    });
    auto b = broker.subscribe("topic:b", [&](const Hop& h) {
        on_b.fetch_add(1, std::memory_order_relaxed);
        if (h.remaining > 0) {
            nested_receivers.fetch_add(broker.publish("topic:a", Hop{h.remaining - 1}),
                                       std::memory_order_relaxed);
        }
    });
    // A third party changing the subscriber lists of both topics meanwhile: writers must not
    // wait for the dispatches either (the Poco variant of the inversion).
    std::atomic<bool> stop{false};
    std::thread churn([&] {
        while (!stop.load(std::memory_order_relaxed)) {
            auto extra_a = broker.subscribe("topic:a", [](const Hop&) {});
            auto extra_b = broker.subscribe("topic:b", [](const Hop&) {});
        }
    });

    herald_test::Gate start;
    std::uint64_t top_a = 0, top_b = 0;
    std::thread thread_a([&] {
        start.wait();
        for (int i = 0; i < iterations; ++i) {
            top_a += broker.publish("topic:a", Hop{1}) != 0 ? 1U : 0U;
        }
    });
    std::thread thread_b([&] {
        start.wait();
        for (int i = 0; i < iterations; ++i) {
            top_b += broker.publish("topic:b", Hop{1}) != 0 ? 1U : 0U;
        }
    });
    start.open();
    thread_a.join();
    thread_b.join();
    stop = true;
    churn.join();

    constexpr auto n = static_cast<std::uint64_t>(iterations);
    CHECK(top_a == n);
    CHECK(top_b == n);
    // Each top-level publish runs its handler, which publishes once to the other topic.
    CHECK(on_a.load() == 2 * n);
    CHECK(on_b.load() == 2 * n);
    CHECK(nested_receivers.load() >= 2 * n); // plus the churned extras it happened to reach
    CHECK(a.stats().delivered == 2 * n);
    CHECK(b.stats().delivered == 2 * n);
}
