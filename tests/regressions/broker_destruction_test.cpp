// Regression: a handle read on one thread while its broker is destroyed on another.
//
// Source: found by this project's own stress test (tests/stress/shutdown_race_test.cpp) under
// ThreadSanitizer, not by a peer's issue. A handle that outlives its broker reports the final
// counters the broker left in the subscription. Those were written by the destroying thread
// under the broker's lock, and read by the handle's thread with no synchronisation at all (the
// failed weak_ptr::lock() that tells the handle its broker is gone is a relaxed read): a data
// race, and in principle stale counters. The thread that reads is legitimately unsynchronised
// with the destroying one (handles may be used on any thread while the broker goes away), which
// the relaxed flag below stands for. Meant for ThreadSanitizer; plain builds check the values.
#include <herald/herald.hpp>

#include "test_catch.hpp"

#include <atomic>
#include <memory>
#include <string>
#include <thread>

TEST_CASE("regression: a handle's final counters are read without a data race after its broker "
          "was destroyed on another thread",
          "[regression][threads]") {
    for (int round = 0; round < 20; ++round) {
        auto broker = std::make_unique<herald::Broker<int>>();
        int calls = 0;
        auto inline_sub = broker->subscribe("c", [&calls](const int&) { ++calls; });
        auto pattern_sub = broker->psubscribe<int>("c*", [](const int&) {});
        broker->publish("c", 1);
        broker->publish("c", 2);
        std::atomic<bool> gone{false};
        herald::SubscriptionStats exact_stats, pattern_stats;
        bool still_active = true;
        // The handles belong to the reader from here on: only it touches them.
        std::thread reader([&] {
            while (!gone.load(std::memory_order_relaxed)) {
                std::this_thread::yield();
            }
            still_active = inline_sub.active() || pattern_sub.active();
            exact_stats = inline_sub.stats();
            pattern_stats = pattern_sub.stats();
        });
        std::thread destroyer([&] {
            broker.reset();
            gone.store(true, std::memory_order_relaxed); // no happens-before on purpose
        });
        destroyer.join();
        reader.join();
        CHECK_FALSE(still_active);
        CHECK(exact_stats.delivered == 2);
        CHECK(pattern_stats.delivered == 2);
        CHECK_FALSE(exact_stats.active);
        CHECK(calls == 2);
    }
}

// Found by the benchmarks: a Subscription destroyed after its thread's thread-local state (a
// thread_local or static handle, destroyed at thread exit or after main) used herald's
// per-thread records after they were destroyed: a double free at exit.
TEST_CASE("regression: a thread_local subscription destroyed at thread exit after herald's "
          "thread-local state",
          "[regression][lifetime]") {
    herald::Broker<std::string> broker;
    std::atomic<int> calls{0};
    std::thread([&] {
        // Constructed before herald's thread-locals (the subscribe below creates those), so
        // destroyed after them.
        thread_local herald::Subscription exact;
        thread_local herald::Subscription pattern;
        exact = broker.subscribe("late", [&](const std::string&) { ++calls; });
        pattern = broker.psubscribe("la*", [&](const std::string&) { ++calls; });
        CHECK(broker.publish("late", "x") == 2);
    }).join();
    CHECK(calls.load() == 2);
    CHECK(broker.numsub("late") == 0); // both ended when the thread did
    CHECK(broker.numpat() == 0);
    CHECK(broker.publish("late", "y") == 0);
}
