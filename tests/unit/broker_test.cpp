// Broker semantics (DESIGN §3 items 1-7), for both concurrency policies where they apply.
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

#if defined(__linux__)
#include <csignal>
#include <sys/wait.h>
#include <unistd.h>
#endif

using namespace std::chrono_literals;

namespace {

struct DriverStatus {
    std::string driver_id;
    bool available = false;
};

struct Other {
    int value = 0;
};

using herald_test::Gate;

} // namespace

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

// ---- §3.5 lifetime (unsubscribe from another thread: regressions/unsubscribe_quiescence_test.cpp)

TEMPLATE_TEST_CASE("broker: unsubscribe from inside its own handler returns at once and the "
                   "handler is not called again",
                   "[broker][semantics]", SafeBroker, SingleBroker) {
    TestType broker;
    int calls = 0;
    herald::Subscription self;
    self = broker.subscribe("once", [&](const std::string&) {
        ++calls;
        self.unsubscribe();
        CHECK_FALSE(self.active());
    });
    CHECK(broker.publish("once", "a") == 1);
    CHECK(broker.publish("once", "b") == 0);
    CHECK(calls == 1);
}

TEMPLATE_TEST_CASE("broker: destroying the handle inside its own handler is safe",
                   "[broker][semantics]", SafeBroker, SingleBroker) {
    TestType broker;
    auto holder = std::make_unique<herald::Subscription>();
    int calls = 0;
    *holder = broker.subscribe("once", [&](const std::string&) {
        ++calls;
        holder.reset();
    });
    CHECK(broker.publish("once", "a") == 1);
    CHECK(broker.publish("once", "b") == 0);
    CHECK(calls == 1);
}

TEMPLATE_TEST_CASE("broker: a broker destroyed before its handles leaves them inert",
                   "[broker][semantics]", SafeBroker, SingleBroker) {
    herald::Subscription sub;
    std::optional<typename TestType::template Publisher<int>> publisher;
    auto captured = std::make_shared<int>(0);
    std::weak_ptr<int> watch = captured;
    {
        TestType broker;
        sub = broker.subscribe("x", [captured](const std::string&) { ++*captured; });
        publisher.emplace(broker.publisher(herald::Topic<int>{"ints"}));
        captured.reset();
        CHECK(broker.publish("x", "hi") == 1);
        CHECK(sub.active());
    }
    CHECK_FALSE(sub.active());
    CHECK(watch.expired()); // the handler (and what it captured) went with the broker
    CHECK(publisher->publish(1) == 0);
    auto final_stats = sub.unsubscribe();
    CHECK(final_stats.delivered == 1);
    CHECK_FALSE(final_stats.active);
    CHECK(sub.stats().delivered == 1);
}

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

TEST_CASE("broker: max_depth outside 1..HERALD_MAX_DISPATCH_DEPTH is rejected", "[broker]") {
    herald::BrokerOptions zero;
    zero.max_depth = 0;
    CHECK_THROWS_AS(herald::Broker<>(zero), std::invalid_argument);
    herald::BrokerOptions huge;
    huge.max_depth = 1u << 20;
    CHECK_THROWS_AS(herald::Broker<>(huge), std::invalid_argument);
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

TEMPLATE_TEST_CASE("broker: the dead-letter channel receives the failed message",
                   "[broker][semantics][errors]", SafeBroker, SingleBroker) {
    herald::BrokerOptions options;
    options.dead_letter_channel = "dead";
    TestType broker(options);
    const herald::Topic<herald::DeadLetter> dead{"dead"};
    std::vector<herald::DeadLetter> letters;
    auto dl = broker.subscribe(dead, [&](const herald::DeadLetter& l) { letters.push_back(l); });
    auto failing = broker.subscribe("orders", [&](const std::string& order) {
        if (order == "bad") {
            throw std::invalid_argument("cannot parse");
        }
    });
    broker.publish("orders", "good");
    broker.publish("orders", "bad");
    REQUIRE(letters.size() == 1);
    CHECK(letters[0].channel == "orders");
    CHECK(letters[0].subscription_id == failing.id());
    CHECK(std::any_cast<std::string>(letters[0].payload) == "bad");
    CHECK_THROWS_AS(std::rethrow_exception(letters[0].error), std::invalid_argument);
}

TEMPLATE_TEST_CASE("broker: rethrow_after rethrows the first exception once every handler ran",
                   "[broker][semantics][errors]", SafeBroker, SingleBroker) {
    herald::BrokerOptions options;
    options.exception_policy = herald::ExceptionPolicy::rethrow_after;
    TestType broker(options);
    std::vector<int> ran;
    auto h1 = broker.subscribe("t", [&](const std::string&) {
        ran.push_back(1);
        throw std::runtime_error("first");
    });
    auto h2 = broker.subscribe("t", [&](const std::string&) {
        ran.push_back(2);
        throw std::logic_error("second");
    });
    auto h3 = broker.subscribe("t", [&](const std::string&) { ran.push_back(3); });
    try {
        broker.publish("t", "x");
        FAIL("publish should have rethrown");
    } catch (const std::runtime_error& e) {
        CHECK(std::string(e.what()) == "first");
    }
    CHECK(ran == std::vector<int>{1, 2, 3});
    CHECK(broker.stats().errors == 2);
}

#if defined(__linux__)
TEST_CASE("broker: the terminate policy ends the process when a handler throws",
          "[broker][semantics][errors]") {
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        herald::BrokerOptions options;
        options.exception_policy = herald::ExceptionPolicy::terminate;
        std::signal(SIGABRT, SIG_DFL);
        herald::Broker<std::string, herald::single_threaded> broker(options);
        auto s = broker.subscribe("t", [](const std::string&) { throw 42; });
        broker.publish("t", "x");
        _exit(0); // not reached
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGABRT);
}
#endif

TEMPLATE_TEST_CASE("broker: a throwing error hook does not break the dispatch", "[broker][errors]",
                   SafeBroker, SingleBroker) {
    TestType broker;
    broker.on_error([](const herald::ErrorInfo&) { throw std::runtime_error("hook"); });
    int after = 0;
    auto bad = broker.subscribe("t", [](const std::string&) { throw 1; });
    auto good = broker.subscribe("t", [&](const std::string&) { ++after; });
    CHECK(broker.publish("t", "x") == 2);
    CHECK(after == 1);
}

// ---- typed topics ------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("broker: typed topics deliver their payload type", "[broker][topic]", SafeBroker,
                   SingleBroker) {
    TestType broker;
    const herald::Topic<DriverStatus> status{"driver-status-changed"};
    std::vector<std::string> log;
    auto s = broker.subscribe(status, [&](const DriverStatus& e) {
        log.push_back(e.driver_id + (e.available ? ":on" : ":off"));
    });
    CHECK(broker.publish(status, DriverStatus{"abc", true}) == 1);
    CHECK(broker.publish(status, {"def", false}) == 1);
    auto publisher = broker.publisher(status);
    CHECK(publisher.publish({"ghi", true}) == 1);
    CHECK(publisher.channel() == "driver-status-changed");
    CHECK(log == std::vector<std::string>{"abc:on", "def:off", "ghi:on"});
}

TEMPLATE_TEST_CASE("broker: one channel used with two payload types is reported naming both "
                   "types and the channel",
                   "[broker][topic]", SafeBroker, SingleBroker) {
    TestType broker;
    const herald::Topic<DriverStatus> a{"shared-name"};
    const herald::Topic<Other> b{"shared-name"};
    auto s = broker.subscribe(a, [](const DriverStatus&) {});
    try {
        broker.publish(b, Other{1});
        FAIL("expected type_mismatch_error");
    } catch (const herald::type_mismatch_error& e) {
        const std::string what = e.what();
        CHECK(what.find("shared-name") != std::string::npos);
        CHECK(what.find("DriverStatus") != std::string::npos);
        CHECK(what.find("Other") != std::string::npos);
        CHECK(e.channel() == "shared-name");
    }
    CHECK_THROWS_AS(broker.subscribe(b, [](const Other&) {}), herald::type_mismatch_error);
    CHECK_THROWS_AS(broker.subscribe("shared-name", [](const std::string&) {}),
                    herald::type_mismatch_error);
    CHECK_THROWS_AS(broker.publish("shared-name", "text"), herald::type_mismatch_error);
    CHECK_THROWS_AS(broker.publisher(b), herald::type_mismatch_error);
    s.unsubscribe();
    // With no subscriber left the name is free again.
    auto t = broker.subscribe(b, [](const Other&) {});
    CHECK(broker.publish(b, Other{2}) == 1);
}

TEMPLATE_TEST_CASE("broker: a pattern subscription receives only publishes of its payload type",
                   "[broker][topic]", SafeBroker, SingleBroker) {
    TestType broker;
    int strings = 0, statuses = 0;
    auto ps = broker.psubscribe("driver-*", [&](const std::string&) { ++strings; });
    auto pt = broker.template psubscribe<DriverStatus>("driver-*",
                                                       [&](const herald::Message<DriverStatus>& m) {
                                                           CHECK(m.pattern == "driver-*");
                                                           ++statuses;
                                                       });
    CHECK(broker.numpat() == 1); // identical patterns share one entry, as Redis counts them
    CHECK(broker.publish(herald::Topic<DriverStatus>{"driver-1"}, DriverStatus{"1", true}) == 1);
    CHECK(broker.publish("driver-2", "text") == 1);
    CHECK(strings == 1);
    CHECK(statuses == 1);
    CHECK(broker.stats().type_mismatches == 2);
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

// ---- the envelope ------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("broker: the envelope carries kind, channel, payload, sequence and time",
                   "[broker]", SafeBroker, SingleBroker) {
    TestType broker;
    std::vector<std::uint64_t> sequences;
    const auto before = std::chrono::system_clock::now();
    std::chrono::system_clock::time_point stamped{};
    auto s = broker.subscribe("seq", [&](const herald::Message<std::string>& m) {
        CHECK(m.kind == herald::MessageKind::message);
        CHECK(m.channel == "seq");
        CHECK(m.payload == "p");
        sequences.push_back(m.sequence);
        stamped = m.published_at;
    });
    broker.publish("seq", "p");
    broker.publish("seq", "p");
    // A new subscriber changes the list; the sequence continues.
    auto other = broker.subscribe("seq", [](const std::string&) {});
    broker.publish("seq", "p");
    CHECK(sequences == std::vector<std::uint64_t>{1, 2, 3});
    CHECK(stamped >= before);
    CHECK(stamped <= std::chrono::system_clock::now());
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

TEMPLATE_TEST_CASE("broker: delivered counts survive list changes exactly",
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

// ---- handles ---------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("broker: subscription handles move, detach and group", "[broker][subscription]",
                   SafeBroker, SingleBroker) {
    TestType broker;
    int calls = 0;
    herald::Subscription a = broker.subscribe("x", [&](const std::string&) { ++calls; });
    herald::Subscription b = std::move(a);
    CHECK_FALSE(a.active());
    CHECK_FALSE(static_cast<bool>(a));
    CHECK(b.active());
    CHECK(b.id() != 0);
    broker.publish("x", "1");
    CHECK(calls == 1);

    b.detach();
    CHECK_FALSE(b.active());
    CHECK(broker.publish("x", "2") == 1); // still subscribed, for the broker's lifetime

    herald::SubscriptionGroup session;
    session += broker.subscribe("room:1", [&](const std::string&) { ++calls; });
    session.add(broker.subscribe("room:2", [&](const std::string&) { ++calls; }));
    session += broker.psubscribe("room:*", [&](const std::string&) { ++calls; });
    CHECK(session.size() == 3);
    CHECK(broker.publish("room:1", "hi") == 2);
    session.unsubscribe_all();
    CHECK(session.empty());
    CHECK(broker.publish("room:1", "hi") == 0);
    CHECK(broker.numpat() == 0);
}

TEST_CASE("broker: shutdown ends every subscription and later publishes reach nobody", "[broker]") {
    herald::Broker broker;
    auto s = broker.subscribe("x", [](const std::string&) {});
    broker.shutdown();
    CHECK_FALSE(s.active());
    CHECK(broker.publish("x", "after") == 0);
    CHECK_THROWS_AS(broker.subscribe("x", [](const std::string&) {}), herald::broker_closed_error);
    broker.shutdown(); // idempotent
}

TEMPLATE_TEST_CASE("broker: a channel left without subscribers is reused and may change payload "
                   "type",
                   "[broker][topic]", SafeBroker, SingleBroker) {
    TestType broker;
    const herald::Topic<int> ints{"reused"};
    const herald::Topic<Other> others{"reused"};
    for (int round = 0; round < 200; ++round) { // more rounds than unused channels are kept
        auto s = broker.subscribe(ints, [](const int&) {});
        CHECK(broker.publish(ints, round) == 1);
        CHECK_THROWS_AS(broker.publish(others, Other{round}), herald::type_mismatch_error);
    }
    CHECK(broker.publish(ints, 1) == 0); // empty: nothing to check against, nobody receives
    int got = 0;
    auto t = broker.subscribe(others, [&](const Other& o) { got = o.value; });
    CHECK(broker.publish(others, Other{7}) == 1);
    CHECK(got == 7);
    CHECK_THROWS_AS(broker.publish(ints, 1), herald::type_mismatch_error);
    CHECK(broker.channels() == std::vector<std::string>{"reused"});
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

// A channel's counter belongs to the first thread that publishes over it and is advanced
// without a locked instruction; a second publisher thread or a writer replacing the list takes
// that ownership away first. Counts and sequence numbers must stay exact through every hand-over.
TEST_CASE("counts and sequence numbers stay exact when publisher threads take a channel "
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

// Memory per subscription (DESIGN §7: at most 96 bytes on one channel): the subscription is
// one block holding the handler in place, plus one pointer in its channel's list.
TEST_CASE("a subscription with a pointer-sized handler is one block of at most 72 bytes",
          "[broker][memory]") {
    std::uint64_t sink = 0;
    auto handler = [s = &sink](const int& v) { *s += static_cast<std::uint64_t>(v); };
    using Inline = herald::detail::InlineSubscription<int, decltype(handler)>;
    if constexpr (sizeof(void*) == 8) {
        CHECK(sizeof(herald::detail::SubscriptionCore) <= 64);
        CHECK(sizeof(Inline) <= 72);
    }
    herald::Broker<int> broker;
    auto first = broker.subscribe("one", handler);
    for (int i = 0; i < 4; ++i) {
        broker.subscribe("one", handler).unsubscribe(); // warms reclamation's bookkeeping
    }
    herald_test::AllocationCounter::start();
    auto second = broker.subscribe("one", handler);
    const std::size_t allocations = herald_test::AllocationCounter::stop();
    CHECK(allocations == 2); // the subscription, and the channel's list with one more entry
    CHECK(broker.publish("one", 1) == 2);
    CHECK(sink == 2);
}
