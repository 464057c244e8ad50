// Unit tests of <herald/topic.hpp>: a channel name bound to a payload type, and what the broker
// does when one channel is used with two types.
#include <herald/topic.hpp>

#include <herald/broker.hpp>

#include "test_catch.hpp"

#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace {

struct DriverStatus {
    std::string driver_id;
    bool available = false;
};

struct Other {
    int value = 0;
};

} // namespace

using SafeBroker = herald::Broker<std::string, herald::thread_safe>;
using SingleBroker = herald::Broker<std::string, herald::single_threaded>;

TEST_CASE("topic: a topic keeps its name, from any string type, and names its payload type",
          "[topic]") {
    static_assert(std::is_same_v<herald::Topic<DriverStatus>::payload_type, DriverStatus>);
    const std::string owned("drivers");
    const std::string_view view = owned;
    CHECK(herald::Topic<int>{owned}.name() == "drivers");
    CHECK(herald::Topic<int>{view}.name() == "drivers");
    CHECK(herald::Topic<int>{"drivers"}.name() == "drivers");
    const std::string with_nul("a\0b", 3);
    CHECK(herald::Topic<int>{with_nul}.name() == with_nul); // binary-safe, like channels
    CHECK(herald::Topic<int>{std::string_view(with_nul)}.name().size() == 3);
}

TEMPLATE_TEST_CASE("topic: typed topics deliver their payload type", "[broker][topic]", SafeBroker,
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

TEMPLATE_TEST_CASE("topic: one channel used with two payload types is reported naming both "
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

TEMPLATE_TEST_CASE("topic: a pattern subscription receives only publishes of its payload type",
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

TEMPLATE_TEST_CASE("topic: a channel left without subscribers is reused and may change payload "
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

TEMPLATE_TEST_CASE("topic: copies, assignments and moves keep publishing to the channel they "
                   "name; a moved-from topic names the empty channel",
                   "[broker][topic]", SafeBroker, SingleBroker) {
    TestType broker;
    int on_status = 0;
    int on_empty = 0;
    herald::Topic<int> status("status");
    herald::Topic<int> empty("");
    auto a = broker.subscribe(status, [&](const int&) { ++on_status; });
    auto b = broker.subscribe(empty, [&](const int&) { ++on_empty; });
    herald::Topic<int> copy = status;
    CHECK(broker.publish(copy, 1) == 1);
    herald::Topic<int> assigned("other");
    assigned = status;
    CHECK(broker.publish(assigned, 2) == 1);
    herald::Topic<int> moved(std::move(copy));
    CHECK(moved.name() == "status");
    CHECK(broker.publish(moved, 3) == 1);
    CHECK(copy.name().empty()); // NOLINT(bugprone-use-after-move): the documented state
    CHECK(broker.publish(copy, 4) == 1);
    herald::Topic<int> move_assigned("other");
    move_assigned = std::move(assigned);
    CHECK(broker.publish(move_assigned, 5) == 1);
    CHECK(broker.publish(assigned, 6) == 1); // NOLINT(bugprone-use-after-move)
    CHECK(on_status == 4);
    CHECK(on_empty == 2);
}
