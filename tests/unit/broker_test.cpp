// Unit tests of <herald/broker.hpp>: the broker's semantics (DESIGN §3 items 1-7), for both
// concurrency policies where they apply. The handles, typed topics, messages, errors and counters
// it hands out have their own files (subscription_test.cpp, topic_test.cpp, ...).
#include <herald/herald.hpp>

#include "counting.hpp"
#include "test_catch.hpp"
#include "test_helpers.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

using SafeBroker = herald::Broker<std::string, herald::thread_safe>;
using SingleBroker = herald::Broker<std::string, herald::single_threaded>;

// ---- §3.1 receiver counting -------------------------------------------------------------------

TEMPLATE_TEST_CASE("broker: publish returns the number of receivers, one per matching subscription",
                   "[broker][semantics]", SafeBroker, SingleBroker) {
    TestType broker;
    CHECK(broker.publish("news", "nobody listens") == 0);
    int a = 0, b = 0;
    auto s1 = broker.subscribe("news", [&](const std::string&) { ++a; });
    auto s2 = broker.subscribe("news", [&](const std::string&) { ++b; });
    auto other = broker.subscribe("weather", [](const std::string&) {});
    CHECK(broker.publish("news", "one") == 2);
    CHECK(a == 1);
    CHECK(b == 1);
    s2.unsubscribe();
    CHECK(broker.publish("news", "two") == 1);
    CHECK(a == 2);
    CHECK(b == 1);
}

TEMPLATE_TEST_CASE("broker: a subscriber matching by channel and by pattern receives twice and "
                   "counts twice",
                   "[broker][semantics]", SafeBroker, SingleBroker) {
    TestType broker;
    std::vector<std::string> seen;
    auto exact = broker.subscribe("alerts:cpu", [&](const herald::Message<std::string>& m) {
        CHECK(m.kind == herald::MessageKind::message);
        CHECK(m.pattern.empty());
        seen.push_back("message:" + std::string(m.channel));
    });
    auto pattern = broker.psubscribe("alerts:*", [&](const herald::Message<std::string>& m) {
        CHECK(m.kind == herald::MessageKind::pmessage);
        CHECK(m.pattern == "alerts:*");
        seen.push_back("pmessage:" + std::string(m.channel));
    });
    auto pattern2 = broker.psubscribe(
        "alerts:?pu", [&](const herald::Message<std::string>&) { seen.push_back("pmessage2"); });
    CHECK(broker.publish("alerts:cpu", "85%") == 3);
    // Exact subscribers first, then pattern subscribers (their order is the index's).
    REQUIRE(seen.size() == 3);
    CHECK(seen[0] == "message:alerts:cpu");
    std::sort(seen.begin() + 1, seen.end());
    CHECK(seen ==
          std::vector<std::string>{"message:alerts:cpu", "pmessage2", "pmessage:alerts:cpu"});
    CHECK(broker.publish("alerts:disk", "full") == 1);
}

// ---- §3.2 at-most-once -----------------------------------------------------------------------

TEMPLATE_TEST_CASE("broker: a message published with no subscriber is gone and a later "
                   "subscriber does not see it",
                   "[broker][semantics]", SafeBroker, SingleBroker) {
    TestType broker;
    CHECK(broker.publish("chat:general", "early") == 0);
    std::vector<std::string> got;
    auto sub = broker.subscribe("chat:general", [&](const std::string& t) { got.push_back(t); });
    CHECK(got.empty());
    CHECK(broker.publish("chat:general", "late") == 1);
    sub.unsubscribe();
    CHECK(broker.publish("chat:general", "while away") == 0);
    auto again = broker.subscribe("chat:general", [&](const std::string& t) { got.push_back(t); });
    CHECK(broker.publish("chat:general", "back") == 1);
    CHECK(got == std::vector<std::string>{"late", "back"});
}

// ---- §3.3 ordering ---------------------------------------------------------------------------

TEST_CASE("broker: each subscriber sees the messages of one publishing thread in publish order",
          "[broker][semantics][threads]") {
    herald::Broker<std::pair<int, int>> broker; // payload: (publisher, counter)
    constexpr int publishers = 3;
    constexpr int per_publisher = 20000;
    std::mutex mutex;
    std::vector<int> last(publishers, -1);
    bool in_order = true;
    int received = 0;
    auto sub = broker.subscribe("ordered", [&](const std::pair<int, int>& m) {
        std::lock_guard lock(mutex);
        if (m.second != last[static_cast<std::size_t>(m.first)] + 1) {
            in_order = false;
        }
        last[static_cast<std::size_t>(m.first)] = m.second;
        ++received;
    });
    std::vector<std::thread> threads;
    for (int p = 0; p < publishers; ++p) {
        threads.emplace_back([&, p] {
            for (int i = 0; i < per_publisher; ++i) {
                broker.publish("ordered", std::pair<int, int>{p, i});
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    CHECK(in_order);
    CHECK(received == publishers * per_publisher);
    CHECK(sub.stats().delivered == static_cast<std::uint64_t>(publishers * per_publisher));
}

// ---- §3.4 changes during a dispatch ------------------------------------------------------------

TEMPLATE_TEST_CASE("broker: a subscription added during a dispatch does not receive the message "
                   "being dispatched",
                   "[broker][semantics]", SafeBroker, SingleBroker) {
    TestType broker;
    std::vector<herald::Subscription> added;
    int late_calls = 0;
    auto adder = broker.subscribe("topic", [&](const std::string&) {
        added.push_back(broker.subscribe("topic", [&](const std::string&) { ++late_calls; }));
    });
    CHECK(broker.publish("topic", "first") == 1);
    CHECK(late_calls == 0);
    CHECK(broker.publish("topic", "second") == 2);
    CHECK(late_calls == 1);
}

TEMPLATE_TEST_CASE("broker: handler one unsubscribing handler two during a dispatch stops handler "
                   "two at once",
                   "[broker][semantics]", SafeBroker, SingleBroker) {
    TestType broker;
    int second_calls = 0;
    herald::Subscription second;
    auto first = broker.subscribe("topic", [&](const std::string&) { second.unsubscribe(); });
    second = broker.subscribe("topic", [&](const std::string&) { ++second_calls; });
    CHECK(broker.publish("topic", "x") == 1);
    CHECK(second_calls == 0);
    CHECK_FALSE(second.active());
    CHECK(second.stats().skipped == 1);
    CHECK(broker.numsub("topic") == 1);
}

// ---- §3.5 lifetime: subscription_test.cpp, and regressions/unsubscribe_quiescence_test.cpp ----

// ---- §3.6 re-entrancy ------------------------------------------------------------------------

TEMPLATE_TEST_CASE("broker: handlers may publish, subscribe and unsubscribe on the same broker",
                   "[broker][semantics]", SafeBroker, SingleBroker) {
    TestType broker;
    std::vector<std::string> log;
    herald::Subscription pong_sub;
    auto ping = broker.subscribe("ping", [&](const std::string& t) {
        log.push_back("ping:" + t);
        pong_sub =
            broker.subscribe("pong", [&](const std::string& p) { log.push_back("pong:" + p); });
        CHECK(broker.publish("pong", t + "!") == 1);
        pong_sub.unsubscribe();
        CHECK(broker.numsub("pong") == 0);
    });
    CHECK(broker.publish("ping", "a") == 1);
    CHECK(broker.publish("ping", "b") == 1);
    CHECK(log == std::vector<std::string>{"ping:a", "pong:a!", "ping:b", "pong:b!"});
}

TEMPLATE_TEST_CASE("broker: nesting deeper than max_depth is reported, not a stack overflow",
                   "[broker][semantics]", SafeBroker, SingleBroker) {
    herald::BrokerOptions options;
    options.max_depth = 8;
    TestType broker(options);
    int deepest = 0;
    int depth = 0;
    std::vector<std::string> errors;
    broker.on_error([&](const herald::ErrorInfo& info) {
        try {
            std::rethrow_exception(info.exception);
        } catch (const herald::dispatch_depth_error& e) {
            errors.push_back(e.what());
        }
    });
    auto recurse = broker.subscribe("loop", [&](const std::string&) {
        ++depth;
        deepest = std::max(deepest, depth);
        broker.publish("loop", "again");
        --depth;
    });
    CHECK(broker.publish("loop", "start") == 1);
    CHECK(deepest == 8);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].find("'loop'") != std::string::npos);
    CHECK(errors[0].find('8') != std::string::npos);
    CHECK(broker.stats().depth_exceeded == 1);
    CHECK(recurse.stats().errors == 1);
}

// ---- §3.7 errors -----------------------------------------------------------------------------

TEMPLATE_TEST_CASE("broker: a throwing handler does not stop delivery to the others and reaches "
                   "the error hook with channel and id",
                   "[broker][semantics][errors]", SafeBroker, SingleBroker) {
    TestType broker;
    std::vector<int> ran;
    std::vector<std::pair<std::string, std::uint64_t>> reported;
    broker.on_error([&](const herald::ErrorInfo& info) {
        CHECK(info.kind == herald::ErrorKind::handler_exception);
        reported.emplace_back(std::string(info.channel), info.subscription_id);
    });
    auto h1 = broker.subscribe("jobs", [&](const std::string&) { ran.push_back(1); });
    auto h2 = broker.subscribe("jobs", [&](const std::string&) {
        ran.push_back(2);
        throw std::runtime_error("boom");
    });
    auto h3 = broker.subscribe("jobs", [&](const std::string&) { ran.push_back(3); });
    CHECK(broker.publish("jobs", "x") == 3);
    CHECK(ran == std::vector<int>{1, 2, 3});
    REQUIRE(reported.size() == 1);
    CHECK(reported[0].first == "jobs");
    CHECK(reported[0].second == h2.id());
    CHECK(h2.stats().errors == 1);
    CHECK(h2.stats().delivered == 0);
    CHECK(h1.stats().delivered == 1);
    CHECK(broker.stats().errors == 1);
}

// ---- channels are binary-safe
// --------------------------------------------------------------------

TEMPLATE_TEST_CASE("broker: channel names are binary-safe, empty included", "[broker]", SafeBroker,
                   SingleBroker) {
    TestType broker;
    const std::string with_nul("a\0b", 3);
    const std::string other("a\0c", 3);
    int nul = 0, empty = 0;
    auto s1 = broker.subscribe(with_nul, [&](const std::string&) { ++nul; });
    auto s2 = broker.subscribe("", [&](const std::string&) { ++empty; });
    CHECK(broker.publish(other, "x") == 0);
    CHECK(broker.publish(std::string_view("a"), "x") == 0);
    CHECK(broker.publish(with_nul, "x") == 1);
    CHECK(broker.publish("", "x") == 1);
    CHECK(nul == 1);
    CHECK(empty == 1);
    CHECK(broker.numsub(with_nul) == 1);
    CHECK(broker.channels() == std::vector<std::string>{"", with_nul});
}

// ---- payload sharing and allocation
// --------------------------------------------------------------

TEST_CASE("broker: an rvalue payload published to 10 subscribers is never copied", "[broker]") {
    herald::Broker<herald_test::CopyCounter> broker;
    const herald::Topic<herald_test::CopyCounter> topic{"copies"};
    std::vector<herald::Subscription> subs;
    std::vector<const herald_test::CopyCounter*> addresses;
    for (int i = 0; i < 10; ++i) {
        subs.push_back(broker.subscribe(
            topic, [&](const herald_test::CopyCounter& c) { addresses.push_back(&c); }));
    }
    herald_test::CopyCounter::reset();
    CHECK(broker.publish(topic, herald_test::CopyCounter{"payload"}) == 10);
    CHECK(herald_test::CopyCounter::copies == 0);
    CHECK(herald_test::CopyCounter::moves == 0);
    REQUIRE(addresses.size() == 10);
    for (auto* a : addresses) {
        CHECK(a == addresses.front()); // one object shared by all subscribers
    }
}

TEMPLATE_TEST_CASE("broker: an inline publish allocates nothing in steady state", "[broker]",
                   SafeBroker, SingleBroker) {
    TestType broker;
    const herald::Topic<int> topic{"counter"};
    std::uint64_t sum = 0;
    std::vector<herald::Subscription> subs;
    for (int i = 0; i < 10; ++i) {
        subs.push_back(
            broker.subscribe(topic, [&](const int& v) { sum += static_cast<std::uint64_t>(v); }));
    }
    auto envelope =
        broker.subscribe(topic, [&](const herald::Message<int>& m) { sum += m.sequence; });
    auto pattern = broker.template psubscribe<int>(
        "count*", [&](const int& v) { sum += static_cast<std::uint64_t>(v); });
    auto publisher = broker.publisher(topic);
    const std::string name = "counter";
    // Warm up: the first publish on a thread creates its per-thread record and buffers.
    broker.publish(topic, 1);
    publisher.publish(1);
    herald_test::AllocationCounter::start();
    for (int i = 0; i < 1000; ++i) {
        broker.publish(topic, i);
        publisher.publish(i);
    }
    const std::size_t allocations = herald_test::AllocationCounter::stop();
    CHECK(allocations == 0);
    CHECK(sum > 0);
}

// ---- introspection ------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("broker: introspection follows Redis PUBSUB CHANNELS, NUMSUB and NUMPAT",
                   "[broker][introspection]", SafeBroker, SingleBroker) {
    TestType broker;
    auto a = broker.subscribe("chat:general", [](const std::string&) {});
    auto b = broker.subscribe("chat:general", [](const std::string&) {});
    auto c = broker.subscribe("chat:random", [](const std::string&) {});
    auto d = broker.subscribe("system_notifications", [](const std::string&) {});
    auto p1 = broker.psubscribe("alerts:*", [](const std::string&) {});
    auto p2 = broker.psubscribe("alerts:*", [](const std::string&) {});
    auto p3 = broker.psubscribe("news.*", [](const std::string&) {});
    CHECK(broker.channels() ==
          std::vector<std::string>{"chat:general", "chat:random", "system_notifications"});
    CHECK(broker.channels("chat:*") == std::vector<std::string>{"chat:general", "chat:random"});
    CHECK(broker.numsub("chat:general") == 2);
    CHECK(broker.numsub("nobody") == 0);
    CHECK(broker.numpat() == 2);
    auto stats = broker.stats();
    CHECK(stats.channels == 3);
    CHECK(stats.patterns == 2);
    CHECK(stats.subscriptions == 7);
    broker.publish("chat:general", "hi");
    broker.publish("chat:general", "hi");
    CHECK(a.stats().delivered == 2);
    CHECK(a.stats().active);
    CHECK(broker.stats().dispatched == 2);
    b.unsubscribe();
    p1.unsubscribe();
    CHECK(broker.numsub("chat:general") == 1);
    CHECK(broker.numpat() == 2);
    p2.unsubscribe();
    CHECK(broker.numpat() == 1);
    CHECK(broker.stats().subscriptions == 4);
}

// ---- shutdown and channel reuse
// ------------------------------------------------------------------

TEST_CASE("broker: shutdown ends every subscription and later publishes reach nobody", "[broker]") {
    herald::Broker broker;
    auto s = broker.subscribe("x", [](const std::string&) {});
    broker.shutdown();
    CHECK_FALSE(s.active());
    CHECK(broker.publish("x", "after") == 0);
    CHECK_THROWS_AS(broker.subscribe("x", [](const std::string&) {}), herald::broker_closed_error);
    broker.shutdown(); // idempotent
}

TEMPLATE_TEST_CASE("broker: patterns removed in any order leave the others matching",
                   "[broker][patterns]", SafeBroker, SingleBroker) {
    TestType broker;
    std::vector<herald::Subscription> subs;
    std::vector<int> hits(100, 0);
    for (int i = 0; i < 100; ++i) {
        subs.push_back(
            broker.psubscribe("sensor:" + std::to_string(i) + ":*", [&hits, i](const std::string&) {
                ++hits[static_cast<std::size_t>(i)];
            }));
    }
    // Remove every third pattern, from the middle outwards, then publish to all.
    for (int i : {51, 48, 54, 45, 57, 0, 99, 3,  96, 30, 33, 66, 69, 72, 75, 78, 81,
                  84, 87, 90, 93, 6,  9, 12, 15, 18, 21, 24, 27, 36, 39, 42, 60, 63}) {
        subs[static_cast<std::size_t>(i)].unsubscribe();
    }
    CHECK(broker.numpat() == 66);
    for (int i = 0; i < 100; ++i) {
        const bool removed = i % 3 == 0;
        CHECK(broker.publish("sensor:" + std::to_string(i) + ":temp", "x") == (removed ? 0u : 1u));
        CHECK(hits[static_cast<std::size_t>(i)] == (removed ? 0 : 1));
    }
}

TEMPLATE_TEST_CASE("broker: numsub over several channels answers like PUBSUB NUMSUB a b c",
                   "[broker]", SafeBroker, SingleBroker) {
    TestType broker;
    auto a1 = broker.subscribe("a", [](const std::string&) {});
    auto a2 = broker.subscribe("a", [](const std::string&) {});
    auto c = broker.subscribe("c", [](const std::string&) {});
    auto p = broker.psubscribe("*", [](const std::string&) {}); // patterns do not count
    const auto counts = broker.numsub({"a", "b", "c", "a"});
    REQUIRE(counts.size() == 4);
    CHECK(counts[0] == std::pair<std::string, std::size_t>{"a", 2});
    CHECK(counts[1] == std::pair<std::string, std::size_t>{"b", 0});
    CHECK(counts[2] == std::pair<std::string, std::size_t>{"c", 1});
    CHECK(counts[3] == std::pair<std::string, std::size_t>{"a", 2});
    CHECK(broker.numsub({}).empty());
}
