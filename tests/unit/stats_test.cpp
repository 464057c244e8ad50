// Unit tests of <herald/stats.hpp>: the counters of a subscription and of a broker, exact
// through list changes and publisher hand-overs.
#include <herald/stats.hpp>

#include <herald/broker.hpp>

#include "test_catch.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

using SafeBroker = herald::Broker<std::string, herald::thread_safe>;
using SingleBroker = herald::Broker<std::string, herald::single_threaded>;

TEST_CASE("stats: counters start at zero and the drop total sums every cause", "[stats]") {
    const herald::SubscriptionStats none;
    CHECK(none.delivered + none.errors + none.dropped + none.skipped + none.queued +
              none.high_water ==
          0);
    CHECK_FALSE(none.active);
    CHECK(none.drops.total() == 0);
    const herald::BrokerStats broker;
    CHECK(broker.channels + broker.patterns + broker.subscriptions == 0);
    CHECK(broker.dispatched + broker.errors + broker.dropped + broker.depth_exceeded +
              broker.type_mismatches ==
          0);
    // newest, oldest, conflated, timed_out, disconnected, discarded: one bit each.
    const herald::DropCounts drops{1, 2, 4, 8, 16, 32};
    CHECK(drops.total() == 63);
}

TEMPLATE_TEST_CASE("stats: delivered counts survive list changes exactly",
                   "[broker][introspection]", SafeBroker, SingleBroker) {
    TestType broker;
    auto first = broker.subscribe("c", [](const std::string&) {});
    broker.publish("c", "1");
    auto second = broker.subscribe("c", [](const std::string&) {});
    broker.publish("c", "2");
    broker.publish("c", "3");
    second.unsubscribe();
    broker.publish("c", "4");
    CHECK(first.stats().delivered == 4);
    CHECK(second.stats().delivered == 2);
    CHECK_FALSE(second.stats().active);
}

// A channel's counter belongs to the first thread that publishes over it and is advanced
// without a locked instruction; a second publisher thread or a writer replacing the list takes
// that ownership away first. Counts and sequence numbers must stay exact through every hand-over.
TEST_CASE("stats: counts and sequence numbers stay exact when publisher threads take a channel "
          "over from each other while subscribers churn",
          "[broker][concurrency][stats]") {
    herald::Broker<std::string> broker;
    constexpr std::uint64_t per_phase = 20000;
    constexpr std::uint64_t total = 7 * per_phase;
    // seen[n]: how often sequence number n arrived (the last slot collects out-of-range ones).
    std::vector<std::atomic<std::uint32_t>> seen(total + 2);
    std::atomic<std::uint64_t> plain_calls{0};
    auto envelope = broker.subscribe("shared", [&](const herald::Message<std::string>& msg) {
        seen[std::min<std::uint64_t>(msg.sequence, total + 1)].fetch_add(1);
    });
    auto plain = broker.subscribe("shared", [&](const std::string&) { ++plain_calls; });

    std::uint64_t published = 0;
    // One thread alone (owns the counter), then another alone (takes it over), then both.
    std::thread([&] {
        for (std::uint64_t i = 0; i < per_phase; ++i) {
            broker.publish("shared", "a");
        }
    }).join();
    published += per_phase;
    std::thread([&] {
        for (std::uint64_t i = 0; i < per_phase; ++i) {
            broker.publish("shared", "b");
        }
    }).join();
    published += per_phase;
    auto two_publishers = [&](bool with_churn) {
        std::atomic<bool> stop{false};
        std::thread churn([&] {
            while (with_churn && !stop.load()) {
                auto extra = broker.subscribe("shared", [](const std::string&) {});
            }
        });
        std::thread p1([&] {
            for (std::uint64_t i = 0; i < per_phase; ++i) {
                broker.publish("shared", "c");
            }
        });
        std::thread p2([&] {
            for (std::uint64_t i = 0; i < per_phase; ++i) {
                broker.publish("shared", "d");
            }
        });
        p1.join();
        p2.join();
        stop = true;
        churn.join();
        published += 2 * per_phase;
    };
    two_publishers(false); // both count on one list: one owns it until the other takes over
    two_publishers(true);  // lists are replaced under both
    // And the main thread, after all of that.
    for (std::uint64_t i = 0; i < per_phase; ++i) {
        broker.publish("shared", "e");
    }
    published += per_phase;

    REQUIRE(published == total);
    CHECK(plain_calls.load() == published);
    CHECK(plain.stats().delivered == published);
    CHECK(envelope.stats().delivered == published);
    std::uint64_t once = 0;
    for (std::uint64_t n = 1; n <= total; ++n) {
        once += seen[n].load() == 1 ? 1U : 0U;
    }
    CHECK(once == total); // every number exactly once: no count was lost or repeated
    CHECK(seen[0].load() == 0);
    CHECK(seen[total + 1].load() == 0);
}
