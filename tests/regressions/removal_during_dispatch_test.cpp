// Regression: handler 1 unsubscribes handler 2 during a dispatch; handler 2 must not be called.
//
// Source: EventBus deferred removal (e.g. greenrobot/EventBus and gelldur/EventBus: a listener
// removed while an event is being delivered is only marked, and the loop already holding it calls
// it anyway, after its owner was told it was gone). herald checks each subscription's active flag
// right before calling it, so an unsubscribe that returned is final, even later in the same loop
// and even when it was made on another thread.
#include <herald/herald.hpp>

#include "test_catch.hpp"
#include "test_helpers.hpp"

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace {

using SafeBroker = herald::Broker<std::string, herald::thread_safe>;
using SingleBroker = herald::Broker<std::string, herald::single_threaded>;

} // namespace

TEMPLATE_TEST_CASE("regression: handler 1 unsubscribing handler 2 during a dispatch means "
                   "handler 2 is not called, for exact and pattern subscriptions "
                   "(EventBus deferred removal)",
                   "[regression]", SafeBroker, SingleBroker) {
    TestType broker;
    std::vector<std::string> log;
    herald::Subscription second, second_pattern;
    auto first = broker.subscribe("ev", [&](const std::string& m) {
        log.push_back("first:" + m);
        second.unsubscribe();
        second_pattern.unsubscribe();
    });
    second = broker.subscribe("ev", [&](const std::string& m) { log.push_back("second:" + m); });
    second_pattern =
        broker.psubscribe("e*", [&](const std::string& m) { log.push_back("pattern:" + m); });
    auto third = broker.subscribe("ev", [&](const std::string& m) { log.push_back("third:" + m); });

    CHECK(broker.publish("ev", "1") == 2);
    CHECK(log == std::vector<std::string>{"first:1", "third:1"});
    CHECK(second.stats().skipped == 1);
    CHECK(second.stats().delivered == 0);
    // The pattern's only subscription ended, so the pattern left the index before the
    // pattern stage of this publish: it was not even offered the message.
    CHECK(second_pattern.stats().delivered == 0);
    CHECK(broker.numsub("ev") == 2);
    CHECK(broker.numpat() == 0);
}

TEST_CASE("regression: handler 2 ended from another thread while handler 1 runs is not called "
          "later in the same dispatch (EventBus deferred removal, cross-thread)",
          "[regression][threads]") {
    herald::Broker broker;
    std::vector<std::string> log;
    herald::Subscription second;
    std::thread helper;
    auto first = broker.subscribe("ev", [&](const std::string& m) {
        log.push_back("first:" + m);
        helper = std::thread([&] { second.unsubscribe(); });
        // The helper's unsubscribe has ended the subscription once `active()` turns false; it
        // then waits for this dispatch (handler 1 must not wait for it in turn: the unsubscribe
        // waits for the whole dispatch of this channel's list, see docs/hardening.md).
        while (second.active()) {
            std::this_thread::yield();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5)); // a chance to misbehave
    });
    second = broker.subscribe("ev", [&](const std::string& m) { log.push_back("second:" + m); });
    CHECK(broker.publish("ev", "1") == 1);
    helper.join();
    CHECK(log == std::vector<std::string>{"first:1"});
    CHECK(second.stats().skipped == 1);
}

TEST_CASE("regression: a queued handler ended by another handler while its messages wait is "
          "not called for them (EventBus deferred removal, queued)",
          "[regression]") {
    herald::Broker broker;
    herald::ManualExecutor executor;
    std::vector<std::string> log;
    herald::queued q;
    q.executor = executor.executor();
    herald::Subscription second;
    auto first = broker.subscribe(
        "ev",
        [&](const std::string& m) {
            log.push_back("first:" + m);
            second.unsubscribe();
        },
        q);
    second = broker.subscribe(
        "ev", [&](const std::string& m) { log.push_back("second:" + m); }, q);
    CHECK(broker.publish("ev", "1") == 2);
    CHECK(broker.publish("ev", "2") == 2);
    executor.run_all();
    CHECK(log == std::vector<std::string>{"first:1", "first:2"});
    const auto st = second.stats();
    CHECK(st.delivered == 0);
    CHECK(st.drops.discarded == 2);
}
