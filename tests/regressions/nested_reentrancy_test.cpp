// Regression: subscribe, unsubscribe and publish on the same topic from inside its own handler,
// nested 1,000 deep.
//
// Source: EnTT #1303 (https://github.com/skypjack/entt/issues/1303): connecting or
// disconnecting listeners of a signal from inside one of its listeners while it publishes
// invalidates the storage the publish loop iterates. herald iterates immutable snapshots;
// these tests nest that pattern 1,000 deep (BrokerOptions::max_depth raised to allow it) and are
// meant to run under ASan, which sees any read of a freed snapshot or handler.
#include <herald/herald.hpp>

#include "test_catch.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <map>
#include <string>
#include <vector>

namespace {

using SafeBroker = herald::Broker<int, herald::thread_safe>;
using SingleBroker = herald::Broker<int, herald::single_threaded>;

constexpr int nesting = 1000;

} // namespace

TEMPLATE_TEST_CASE("regression: a handler subscribing, unsubscribing and publishing on its own "
                   "topic 1,000 levels deep stays consistent (EnTT #1303)",
                   "[regression][reentrancy]", SafeBroker, SingleBroker) {
    herald::BrokerOptions options;
    options.max_depth = nesting; // the default is 256; HERALD_MAX_DISPATCH_DEPTH caps it
    TestType broker(options);
    // passive[m] is subscribed while message m is dispatched (so it misses m) and ended
    // while m + 1 is dispatched, before its turn in that dispatch: it is never called. The
    // driver's own subscriber list is replaced twice per level, under every level above.
    std::map<int, herald::Subscription> passive;
    std::map<int, int> passive_calls;
    std::vector<std::size_t> receivers(nesting + 2, 0);
    int deepest = 0;
    bool refused_beyond = false;
    herald::Subscription driver;
    driver = broker.subscribe("t", [&](const int& m) {
        deepest = std::max(deepest, m);
        passive[m] = broker.subscribe("t", [&passive_calls, m](const int&) { ++passive_calls[m]; });
        if (m >= 2) {
            passive[m - 1].unsubscribe();
        }
        if (m < nesting) {
            receivers[static_cast<std::size_t>(m + 1)] = broker.publish("t", m + 1);
        } else {
            // One level more than allowed is refused and reported, never a stack overflow.
            try {
                broker.publish("t", m + 1);
            } catch (const herald::dispatch_depth_error&) {
                refused_beyond = true;
            }
            driver.unsubscribe(); // and the driver ends itself at the bottom
        }
    });
    receivers[1] = broker.publish("t", 1);

    CHECK(deepest == nesting);
    CHECK(refused_beyond);
    CHECK_FALSE(driver.active());
    for (int m = 1; m <= nesting; ++m) {
        CAPTURE(m);
        CHECK(receivers[static_cast<std::size_t>(m)] == 1); // the driver only
    }
    CHECK(passive_calls.empty());
    for (int m = 1; m < nesting; ++m) {
        CAPTURE(m);
        const auto st = passive[m].stats();
        CHECK_FALSE(st.active);
        CHECK(st.delivered == 0);
        CHECK(st.skipped == 1); // its one message, skipped: it had been ended
    }
    // Left: the passive subscription of the bottom level, live for the next publish.
    CHECK(broker.numsub("t") == 1);
    CHECK(broker.publish("t", 0) == 1);
    CHECK(passive_calls[nesting] == 1);
    passive.clear();
    CHECK(broker.numsub("t") == 0);
    CHECK(broker.stats().depth_exceeded == 1);
}

TEST_CASE("regression: a queued handler run from inside the deepest allowed dispatch is refused "
          "and reported, and the thread's next publish works (EnTT #1303 at the depth limit)",
          "[regression][reentrancy]") {
    // A polled handler runs on the thread that polls, as a dispatch nested in whatever that
    // thread is doing. At HERALD_MAX_DISPATCH_DEPTH there is no level left to run it at.
    herald::BrokerOptions options;
    options.max_depth = herald::detail::max_dispatch_depth;
    herald::Broker<int> broker(options);
    std::vector<herald::ErrorInfo> errors;
    std::vector<std::string> messages;
    broker.on_error([&](const herald::ErrorInfo& info) {
        errors.push_back(info);
        try {
            std::rethrow_exception(info.exception);
        } catch (const std::exception& e) {
            messages.emplace_back(e.what());
        }
    });
    herald::queued q;
    q.executor = herald::Executor::polled();
    int polled_calls = 0;
    auto polled = broker.subscribe(
        "side", [&](const int&) { ++polled_calls; }, q);
    CHECK(broker.publish("side", 1) == 1);
    int deepest = 0;
    std::size_t ran_at_bottom = 99;
    auto recurse = broker.subscribe("deep", [&](const int& d) {
        deepest = d;
        if (static_cast<std::size_t>(d) < herald::detail::max_dispatch_depth) {
            broker.publish("deep", d + 1);
        } else {
            ran_at_bottom = polled.poll();
        }
    });
    CHECK(broker.publish("deep", 1) == 1);
    CHECK(static_cast<std::size_t>(deepest) == herald::detail::max_dispatch_depth);
    // The message was taken and refused: counted as the handler's error, reported, never run
    // at a depth the thread has no room to record.
    CHECK(ran_at_bottom == 1);
    CHECK(polled_calls == 0);
    CHECK(polled.stats().errors == 1);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].subscription_id == polled.id());
    REQUIRE(messages.size() == 1);
    CHECK(messages[0].find("nesting") != std::string::npos);
    // The thread left every dispatch: its next publish is an ordinary top-level one.
    CHECK(broker.publish("side", 2) == 1);
    CHECK(polled.poll() == 1);
    CHECK(polled_calls == 1);
}

TEST_CASE("regression: a chain of polled handlers each polling the next cannot nest deeper than "
          "the dispatch limit (EnTT #1303 without publishes)",
          "[regression][reentrancy]") {
    // Nothing but poll() calls: no publish is nested, so max_depth never applies; only the
    // per-thread bound on nested dispatches can stop the chain.
    herald::Broker<int> broker;
    constexpr std::size_t links = herald::detail::max_dispatch_depth + 8;
    std::vector<herald::Subscription> chain(links);
    std::size_t calls = 0;
    herald::queued q;
    q.executor = herald::Executor::polled();
    for (std::size_t i = 0; i < links; ++i) {
        chain[i] = broker.subscribe(
            "link:" + std::to_string(i),
            [&, i](const int&) {
                ++calls;
                if (i + 1 < links) {
                    chain[i + 1].poll();
                }
            },
            q);
    }
    for (std::size_t i = 0; i < links; ++i) {
        broker.publish("link:" + std::to_string(i), 0);
    }
    std::uint64_t errors = 0;
    broker.on_error([&](const herald::ErrorInfo&) { ++errors; });
    chain[0].poll();
    CHECK(calls == herald::detail::max_dispatch_depth);
    CHECK(errors == 1); // the first link with no level left: refused and reported
    // The thread is back at depth 0: the rest of the chain runs from a fresh poll.
    CHECK(broker.publish("link:0", 1) == 1);
    CHECK(chain[0].poll() == 1);
}
