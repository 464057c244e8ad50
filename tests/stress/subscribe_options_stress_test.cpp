// Subscription conditions under concurrency, meant for ThreadSanitizer: publishers on several
// threads share one deduplication window and one filter. Fixed iteration counts; handlers only
// count, and the checks run once every publisher has joined:
// - each key is admitted exactly once per subscription, whichever thread published it first;
// - what the publishes reported as receivers equals what the subscriptions admitted;
// - delivered + filtered + duplicates account for every message offered.
#include <herald/herald.hpp>

#include "test_catch.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

TEST_CASE("subscribe_options stress: concurrent publishers of the same keys pass each key once "
          "through a shared dedup window",
          "[stress][subscribe_options]") {
    constexpr int publishers = 4;
    constexpr int keys = 2000;
    herald::Broker<int> broker;
    std::vector<std::atomic<int>> seen_inline(keys);
    std::atomic<int> queued_calls{0};
    auto inline_sub = broker.subscribe(
        "k", [&](const int& k) { seen_inline[static_cast<std::size_t>(k)].fetch_add(1); },
        herald::dedup([](const int& k) { return k; }, static_cast<std::size_t>(keys)));
    herald::queued q;
    q.capacity = static_cast<std::size_t>(keys * publishers);
    auto queued_sub = broker.subscribe(
        "k", [&](const int&) { queued_calls.fetch_add(1); }, q,
        herald::filter([](const int& k) { return k % 2 == 0; }),
        herald::dedup([](const int& k) { return k; }, static_cast<std::size_t>(keys)));
    std::atomic<std::size_t> receivers{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < publishers; ++t) {
        threads.emplace_back([&, t] {
            std::size_t mine = 0;
            for (int i = 0; i < keys; ++i) {
                // Each thread walks the keys from another starting point, so first sightings
                // are spread over the threads.
                mine += broker.publish("k", (i + t * (keys / publishers)) % keys);
            }
            receivers.fetch_add(mine);
        });
    }
    for (std::thread& t : threads) {
        t.join();
    }
    broker.shutdown(); // drains the queued subscription
    for (std::size_t k = 0; k < keys; ++k) {
        CHECK(seen_inline[k].load() == 1);
    }
    CHECK(queued_calls.load() == keys / 2);
    CHECK(receivers.load() == static_cast<std::size_t>(keys + keys / 2));
    const herald::SubscriptionStats a = inline_sub.stats();
    CHECK(a.delivered == static_cast<std::uint64_t>(keys));
    CHECK(a.duplicates == static_cast<std::uint64_t>(keys * (publishers - 1)));
    const herald::SubscriptionStats b = queued_sub.stats();
    CHECK(b.delivered == static_cast<std::uint64_t>(keys / 2));
    CHECK(b.filtered == static_cast<std::uint64_t>(keys / 2 * publishers));
    CHECK(b.duplicates == static_cast<std::uint64_t>(keys / 2 * (publishers - 1)));
    CHECK(b.dropped == 0);
}
