// Regression: a subscription reached on another thread the moment subscribe returns must be
// complete, not only listed.
//
// Source: found by this project's stress tests under ThreadSanitizer (the libzmq #2826 promise,
// "live the moment subscribe returns", seen from the other side). The subscription's link back
// to its broker was set after the subscriber list had made it visible, so a publisher on another
// thread could deliver to it and a worker then read that link (to report a handler exception,
// or to count a message taken just as the subscription ended) with no ordering against its
// write. The publisher below learns of the subscription through a relaxed flag, as a thread
// that merely publishes later in time does; ThreadSanitizer reports any such race.
#include <herald/herald.hpp>

#include "test_catch.hpp"

#include <atomic>
#include <cstdint>
#include <thread>

TEST_CASE("regression: a queued handler failing on a worker right after another thread "
          "subscribed it reports to the broker race-free",
          "[regression][threads]") {
    for (int round = 0; round < 20; ++round) {
        herald::Broker<int> broker;
        std::atomic<std::uint64_t> reported{0};
        broker.on_error([&](const herald::ErrorInfo&) { reported.fetch_add(1); });
        std::atomic<bool> subscribed{false};
        std::thread publisher([&] {
            while (!subscribed.load(std::memory_order_relaxed)) {
                std::this_thread::yield();
            }
            broker.publish("c", 1); // no happens-before with the subscribe on purpose
        });
        auto exact = broker.subscribe(
            "c", [](const int&) { throw 1; }, herald::queued{});
        auto pattern = broker.psubscribe<int>(
            "c*", [](const int&) { throw 2; }, herald::queued{});
        subscribed.store(true, std::memory_order_relaxed);
        publisher.join();
        broker.shutdown(); // drains: both handlers ran and failed
        CHECK(reported.load() == 2);
        CHECK(exact.stats().errors == 1);
        CHECK(pattern.stats().errors == 1);
    }
}
