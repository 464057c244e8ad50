// Unit tests of <herald/subscription.hpp>: the RAII handle of a subscription, its lifetime
// against its own handler and the broker, and what one subscription costs.
#include <herald/subscription.hpp>

#include <herald/broker.hpp>

#include "counting.hpp"
#include "test_catch.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

using namespace std::chrono_literals;

using SafeBroker = herald::Broker<std::string, herald::thread_safe>;
using SingleBroker = herald::Broker<std::string, herald::single_threaded>;

TEST_CASE("subscription: a default handle is inert and every call on it is harmless",
          "[subscription]") {
    herald::Subscription none;
    CHECK_FALSE(static_cast<bool>(none));
    CHECK_FALSE(none.active());
    CHECK(none.id() == 0);
    CHECK(none.poll() == 0);
    CHECK(none.drain(5) == 0);
    CHECK(none.wait_for(1ms) == 0);
    const auto stats = none.stats();
    CHECK(stats.delivered == 0);
    CHECK_FALSE(stats.active);
    CHECK(none.unsubscribe().delivered == 0);
    none.detach();
    CHECK_FALSE(static_cast<bool>(none));
}

TEMPLATE_TEST_CASE("subscription: move assignment ends the subscription the target held",
                   "[subscription]", SafeBroker, SingleBroker) {
    TestType broker;
    herald::Subscription held = broker.subscribe("first", [](const std::string&) {});
    const std::uint64_t first_id = held.id();
    held = broker.subscribe("second", [](const std::string&) {});
    CHECK(held.id() != first_id);
    CHECK(broker.numsub("first") == 0);
    CHECK(broker.numsub("second") == 1);
    CHECK(broker.publish("first", "x") == 0);
}

TEMPLATE_TEST_CASE("subscription: unsubscribe returns the final counts and a second call changes "
                   "nothing",
                   "[subscription]", SafeBroker, SingleBroker) {
    TestType broker;
    auto sub = broker.subscribe("c", [](const std::string&) {});
    broker.publish("c", "1");
    broker.publish("c", "2");
    const auto first = sub.unsubscribe();
    CHECK(first.delivered == 2);
    CHECK_FALSE(first.active);
    CHECK(broker.publish("c", "3") == 0);
    const auto second = sub.unsubscribe();
    CHECK(second.delivered == 2);
    CHECK_FALSE(second.active);
    CHECK(static_cast<bool>(sub)); // still a handle: its counters stay readable
    CHECK(sub.stats().delivered == 2);
}

TEMPLATE_TEST_CASE("subscription: poll, drain and wait_for on an inline subscription do nothing",
                   "[subscription]", SafeBroker, SingleBroker) {
    TestType broker;
    int calls = 0;
    auto sub = broker.subscribe("i", [&](const std::string&) { ++calls; });
    broker.publish("i", "x");
    CHECK(calls == 1); // inline: the handler ran inside publish
    CHECK(sub.poll() == 0);
    CHECK(sub.drain(3) == 0);
    CHECK(sub.wait_for(1ms) == 0);
    CHECK(calls == 1);
}

TEMPLATE_TEST_CASE("subscription: unsubscribe from inside its own handler returns at once and the "
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

TEMPLATE_TEST_CASE("subscription: destroying the handle inside its own handler is safe",
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

TEMPLATE_TEST_CASE("subscription: a broker destroyed before its handles leaves them inert",
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

TEMPLATE_TEST_CASE("subscription: a handle moves and detaches", "[broker][subscription]",
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
}

// Memory per subscription (DESIGN §7: at most 96 bytes on one channel): the subscription is
// one block holding the handler in place, plus one pointer in its channel's list.
TEST_CASE(
    "subscription: a subscription with a pointer-sized handler is one block of at most 72 bytes",
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
