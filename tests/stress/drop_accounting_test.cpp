// BrokerStats::dropped against the subscriptions' own drop counts, with queued subscriptions
// ended while their consumer is mid-drain.
//
// Found by this project's hardening work, not by a peer's issue: a worker that had just taken a
// message off the queue when the subscription was unsubscribed on another thread counts that
// message as discarded after the unsubscribe already moved the subscription's drops into the
// broker's total, so the broker's total missed it. Timing-dependent by nature: the rounds below
// make the window likely, never certain.
#include <herald/herald.hpp>

#include "test_catch.hpp"
#include "test_helpers.hpp"

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

TEST_CASE("stress: the broker's drop total equals the sum of every subscription's drops when "
          "queued subscriptions end mid-drain",
          "[stress][queue]") {
    constexpr int rounds = 20;
    constexpr int subscriptions_per_round = 100;
    for (int round = 0; round < rounds; ++round) {
        herald_test::ThreadPool pool(1);
        herald::BrokerOptions options;
        options.workers = 1;
        herald::Broker<int> broker(options);
        std::atomic<bool> stop{false};
        std::thread publisher([&] {
            int i = 0;
            while (!stop.load(std::memory_order_relaxed)) {
                broker.publish("c", i++);
            }
        });
        std::vector<herald::Subscription> ended;
        ended.reserve(subscriptions_per_round);
        for (int k = 0; k < subscriptions_per_round; ++k) {
            herald::queued q;
            q.capacity = 4;
            if (k % 2 == 1) {
                q.executor = herald::Executor::of(pool);
            }
            auto s = broker.subscribe(
                "c", [](const int&) {}, q);
            // Let the subscription fill and its consumer start draining; a count of publishes,
            // not a clock, decides when it ends.
            const std::uint64_t before = s.stats().delivered;
            while (s.stats().delivered < before + 2) {
                std::this_thread::yield();
            }
            s.unsubscribe();
            ended.push_back(std::move(s));
        }
        stop = true;
        publisher.join();
        broker.shutdown();
        pool.join();
        std::uint64_t per_subscription = 0;
        for (const auto& s : ended) {
            per_subscription += s.stats().dropped;
        }
        CHECK(broker.stats().dropped == per_subscription);
    }
}
