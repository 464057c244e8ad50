// Regressions of bounded queues: slow consumers, which messages overflow keeps, capacity 0.
#include <herald/herald.hpp>

#include "test_catch.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace {

struct Outcome {
    std::vector<std::string> handled;
    std::uint64_t receivers = 0; // sum of publish() results
    int callbacks = 0;
    herald::SubscriptionStats stats;
};

/// Publishes `per_round` messages twice to a queued subscription of `capacity` nobody consumes
/// meanwhile, polling it empty after each round. `distinct` publishes each message on its own
/// channel (conflation then has nothing to merge).
Outcome run_slow_consumer(herald::Overflow overflow, std::size_t capacity, int per_round,
                          bool distinct, std::vector<std::string>& unaffected_inline,
                          std::vector<std::string>& unaffected_queued) {
    herald::Broker broker;
    Outcome out;
    herald::queued q;
    q.capacity = capacity;
    q.overflow = overflow;
    q.block_timeout = std::chrono::milliseconds(1); // nobody consumes while publishing
    q.executor = herald::Executor::polled();
    q.on_slow_consumer = [&](const herald::SlowConsumer& info) {
        CHECK(info.capacity == capacity);
        CHECK(info.overflow == overflow);
        ++out.callbacks;
    };
    auto slow = broker.psubscribe(
        "feed:*", [&](const herald::Message<std::string>& m) { out.handled.push_back(m.payload); },
        q);
    // Two subscribers that keep up: an inline one and a queued one with room for everything.
    auto fast =
        broker.psubscribe("feed:*", [&](const std::string& m) { unaffected_inline.push_back(m); });
    herald::queued roomy;
    roomy.capacity = static_cast<std::size_t>(2 * per_round);
    roomy.executor = herald::Executor::polled();
    auto spacious = broker.psubscribe(
        "feed:*", [&](const std::string& m) { unaffected_queued.push_back(m); }, roomy);
    int n = 0;
    for (int round = 0; round < 2; ++round) {
        for (int i = 0; i < per_round; ++i, ++n) {
            const std::string channel = distinct ? "feed:" + std::to_string(n) : "feed:one";
            // Each publish counts the slow subscriber when it accepted the message, plus the
            // two others.
            out.receivers += broker.publish(channel, std::to_string(n)) - 2;
        }
        slow.poll(); // the consumer catches up: the overflow episode ends
        spacious.poll();
    }
    out.stats = slow.stats();
    return out;
}

std::vector<std::string> numbers(int from, int to) {
    std::vector<std::string> out;
    for (int i = from; i <= to; ++i) {
        out.push_back(std::to_string(i));
    }
    return out;
}

} // namespace

TEST_CASE("regression: a slow consumer gets exact drop counts per policy, one callback per "
          "overflow episode, and other subscribers are unaffected (nats.c #317, redis #3893)",
          "[regression][queue]") {
    // nats.c #317 (https://github.com/nats-io/nats.c/issues/317): the slow-consumer error is
    // raised for every dropped message, flooding the error handler. redis #3893
    // (https://github.com/redis/redis/issues/3893): one slow pub/sub client's output buffer
    // hurts the others. Capacity 4, 10 messages per round, two rounds, consumer idle meanwhile.
    std::vector<std::string> fast, spacious;
    const auto all = numbers(0, 19);
    SECTION("drop_newest: the 6 newest of each round are refused") {
        auto o = run_slow_consumer(herald::Overflow::drop_newest, 4, 10, false, fast, spacious);
        CHECK(o.handled == std::vector<std::string>{"0", "1", "2", "3", "10", "11", "12", "13"});
        CHECK(o.stats.drops.newest == 12);
        CHECK(o.stats.dropped == 12);
        CHECK(o.receivers == 8);
        CHECK(o.callbacks == 2);
        CHECK(o.stats.delivered == 8);
        CHECK(o.stats.high_water == 4);
    }
    SECTION("drop_oldest: the 6 oldest of each round make room") {
        auto o = run_slow_consumer(herald::Overflow::drop_oldest, 4, 10, false, fast, spacious);
        CHECK(o.handled == std::vector<std::string>{"6", "7", "8", "9", "16", "17", "18", "19"});
        CHECK(o.stats.drops.oldest == 12);
        CHECK(o.stats.dropped == 12);
        CHECK(o.receivers == 20); // every message was accepted; older ones were dropped
        CHECK(o.callbacks == 2);
    }
    SECTION("conflate on one channel: only the latest is kept, which is no overflow") {
        auto o = run_slow_consumer(herald::Overflow::conflate, 4, 10, false, fast, spacious);
        CHECK(o.handled == std::vector<std::string>{"9", "19"});
        CHECK(o.stats.drops.conflated == 18);
        CHECK(o.stats.dropped == 18);
        CHECK(o.receivers == 20);
        CHECK(o.callbacks == 0); // replacing a stale value is what conflation is for
    }
    SECTION("conflate over more channels than capacity: the oldest channels go") {
        auto o = run_slow_consumer(herald::Overflow::conflate, 4, 10, true, fast, spacious);
        CHECK(o.handled == std::vector<std::string>{"6", "7", "8", "9", "16", "17", "18", "19"});
        CHECK(o.stats.drops.oldest == 12);
        CHECK(o.stats.drops.conflated == 0);
        CHECK(o.callbacks == 2);
    }
    SECTION("block: each message without room times out and is dropped") {
        auto o = run_slow_consumer(herald::Overflow::block, 4, 10, false, fast, spacious);
        CHECK(o.handled == std::vector<std::string>{"0", "1", "2", "3", "10", "11", "12", "13"});
        CHECK(o.stats.drops.timed_out == 12);
        CHECK(o.stats.dropped == 12);
        CHECK(o.receivers == 8);
        CHECK(o.callbacks == 2);
    }
    SECTION("disconnect: the first overflow ends the subscription and counts its queue") {
        auto o = run_slow_consumer(herald::Overflow::disconnect, 4, 10, false, fast, spacious);
        CHECK(o.handled.empty());
        CHECK(o.stats.drops.disconnected == 5); // the overflowing message and the 4 queued
        CHECK(o.stats.dropped == 5);
        CHECK(o.receivers == 4);
        CHECK(o.callbacks == 1);
        CHECK_FALSE(o.stats.active);
    }
    // Whatever happened to the slow one, the others got every message, in order.
    CHECK(fast == all);
    CHECK(spacious == all);
}

TEST_CASE("regression: drop_oldest and conflate keep the newest messages (mosquitto #2202)",
          "[regression][queue]") {
    // mosquitto #2202 (https://github.com/eclipse/mosquitto/issues/2202): with max_queued_messages
    // reached, the broker kept the oldest queued messages and discarded the newest, so a
    // reconnecting client saw stale values. herald's drop_oldest and conflate keep the newest.
    herald::Broker broker;
    herald::ManualExecutor executor;
    herald::queued q;
    q.capacity = 3;
    q.executor = executor.executor();
    std::vector<std::string> oldest_dropped, conflated;
    q.overflow = herald::Overflow::drop_oldest;
    auto s1 = broker.psubscribe(
        "sensor:*", [&](const std::string& m) { oldest_dropped.push_back(m); }, q);
    q.overflow = herald::Overflow::conflate;
    auto s2 = broker.psubscribe(
        "sensor:*",
        [&](const herald::Message<std::string>& m) {
            conflated.push_back(std::string(m.channel) + "=" + m.payload);
        },
        q);
    // Four sensors, five readings each, interleaved: more channels than the capacity of 3.
    for (int reading = 1; reading <= 5; ++reading) {
        for (const char* sensor : {"a", "b", "c", "d"}) {
            broker.publish(std::string("sensor:") + sensor, sensor + std::to_string(reading));
        }
    }
    executor.run_all();
    CHECK(oldest_dropped == std::vector<std::string>{"b5", "c5", "d5"});
    // The latest value of the three most recently updated channels.
    CHECK(conflated == std::vector<std::string>{"sensor:b=b5", "sensor:c=c5", "sensor:d=d5"});
    CHECK(s1.stats().drops.oldest == 17);
    CHECK(s1.stats().delivered + s1.stats().dropped == 20);
    CHECK(s2.stats().delivered + s2.stats().dropped == 20);
}

TEST_CASE("regression: a queue capacity of 0 is rejected for every policy and every queued "
          "subscription kind, never read as unlimited (mosquitto #2879, libzmq #4394)",
          "[regression][queue]") {
    // mosquitto #2879 (https://github.com/eclipse/mosquitto/issues/2879) and libzmq #4394
    // (https://github.com/zeromq/libzmq/issues/4394): a high-water mark or queue limit of 0 means
    // "unlimited", so a configuration meant to bound memory removes the bound.
    herald::Broker broker;
    herald::Broker<std::string, herald::single_threaded> single;
    const herald::Topic<int> topic{"ints"};
    for (auto overflow :
         {herald::Overflow::drop_newest, herald::Overflow::drop_oldest, herald::Overflow::conflate,
          herald::Overflow::block, herald::Overflow::disconnect}) {
        herald::queued zero;
        zero.capacity = 0;
        zero.overflow = overflow;
        herald::queued zero_polled = zero;
        zero_polled.executor = herald::Executor::polled();
        const auto handler = [](const std::string&) {};
        CHECK_THROWS_AS(broker.subscribe("c", handler, zero), herald::queue_options_error);
        CHECK_THROWS_AS(broker.subscribe(
                            topic, [](const int&) {}, zero),
                        herald::queue_options_error);
        CHECK_THROWS_AS(broker.psubscribe("c*", handler, zero), herald::queue_options_error);
        CHECK_THROWS_AS(broker.psubscribe(herald::nats_pattern("c.>"), handler, zero_polled),
                        herald::queue_options_error);
        CHECK_THROWS_AS(broker.subscribe("c", zero), herald::queue_options_error); // mailbox
        CHECK_THROWS_AS(broker.psubscribe("c*", zero), herald::queue_options_error);
        CHECK_THROWS_AS(single.subscribe("c", handler, zero_polled), herald::queue_options_error);
        try {
            auto s = broker.subscribe("c", handler, zero);
            FAIL("capacity 0 accepted");
        } catch (const herald::queue_options_error& e) {
            CHECK(std::string(e.what()).find("capacity") != std::string::npos);
        }
    }
    // Nothing was registered by any of the failed calls.
    CHECK(broker.numsub("c") == 0);
    CHECK(broker.numsub("ints") == 0);
    CHECK(broker.numpat() == 0);
    CHECK(broker.stats().subscriptions == 0);
    CHECK(broker.channels().empty());
    CHECK(single.stats().subscriptions == 0);
    // A capacity of 1 is the smallest bound, and it holds.
    herald::queued one;
    one.capacity = 1;
    one.executor = herald::Executor::polled();
    auto s = broker.subscribe(
        "c", [](const std::string&) {}, one);
    CHECK(broker.publish("c", "1") == 1);
    CHECK(broker.publish("c", "2") == 0);
    CHECK(s.stats().queued == 1);
    CHECK(s.stats().drops.newest == 1);
}
