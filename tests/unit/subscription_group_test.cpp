// Unit tests of <herald/subscription_group.hpp>: subscription handles ended together.
#include <herald/subscription_group.hpp>

#include <herald/broker.hpp>

#include "test_catch.hpp"

#include <string>
#include <utility>

using SafeBroker = herald::Broker<std::string, herald::thread_safe>;
using SingleBroker = herald::Broker<std::string, herald::single_threaded>;

TEMPLATE_TEST_CASE("subscription_group: destroying a group ends its subscriptions",
                   "[subscription]", SafeBroker, SingleBroker) {
    TestType broker;
    {
        herald::SubscriptionGroup group;
        group.add(broker.subscribe("a", [](const std::string&) {}))
            .add(broker.subscribe("b", [](const std::string&) {}));
        CHECK(group.size() == 2);
        CHECK(broker.stats().subscriptions == 2);
    }
    CHECK(broker.stats().subscriptions == 0);
    CHECK(broker.publish("a", "x") == 0);
}

TEMPLATE_TEST_CASE("subscription_group: a moved group keeps the subscriptions; move assignment "
                   "ends what the target held",
                   "[subscription]", SafeBroker, SingleBroker) {
    TestType broker;
    herald::SubscriptionGroup first;
    first += broker.subscribe("a", [](const std::string&) {});
    herald::SubscriptionGroup second(std::move(first));
    CHECK(second.size() == 1);
    CHECK(broker.publish("a", "x") == 1);
    herald::SubscriptionGroup third;
    third += broker.subscribe("b", [](const std::string&) {});
    third = std::move(second);
    CHECK(third.size() == 1);
    CHECK(broker.numsub("b") == 0);
    CHECK(broker.numsub("a") == 1);
    third.unsubscribe_all();
    CHECK(third.empty());
    third.unsubscribe_all(); // idempotent
    CHECK(broker.numsub("a") == 0);
}

TEMPLATE_TEST_CASE("subscription_group: a group takes handles by += and add and ends them together",
                   "[broker][subscription]", SafeBroker, SingleBroker) {
    TestType broker;
    int calls = 0;
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

TEST_CASE("subscription_group: one name's subscriptions end alone; the others stay",
          "[subscription]") {
    SafeBroker broker;
    herald::SubscriptionGroup session;
    session.add("updates", broker.subscribe("updates", [](const std::string&) {}))
        .add("updates", broker.psubscribe("upd*", [](const std::string&) {}))
        .add("chat", broker.subscribe("chat", [](const std::string&) {}));
    session += broker.subscribe("unnamed", [](const std::string&) {});
    CHECK(session.size() == 4);
    CHECK(session.count("updates") == 2);
    CHECK(session.contains("chat"));
    CHECK_FALSE(session.contains("nothing"));
    CHECK(session.unsubscribe("updates") == 2);
    CHECK(session.count("updates") == 0);
    CHECK(session.size() == 2);
    CHECK(broker.publish("updates", "m") == 0);
    CHECK(broker.publish("chat", "m") == 1);
    CHECK(session.unsubscribe("updates") == 0);
    CHECK(session.unsubscribe("") == 1);
    CHECK(broker.publish("unnamed", "m") == 0);
    session.unsubscribe_all();
    CHECK(broker.publish("chat", "m") == 0);
    CHECK(session.empty());
}
