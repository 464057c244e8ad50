// Unit tests of <herald/message.hpp>: the view of one message a handler is given.
#include <herald/message.hpp>

#include <herald/broker.hpp>

#include "test_catch.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

using SafeBroker = herald::Broker<std::string, herald::thread_safe>;
using SingleBroker = herald::Broker<std::string, herald::single_threaded>;

TEST_CASE("message: a message refers to the payload, it does not hold a copy", "[message]") {
    static_assert(std::is_same_v<decltype(herald::Message<int>::payload), const int&>);
    static_assert(herald::MessageKind::message != herald::MessageKind::pmessage);
    herald::Broker<> broker;
    const herald::Topic<std::vector<int>> topic{"v"};
    const std::vector<int>* seen = nullptr;
    auto sub = broker.subscribe(topic, [&](const herald::Message<std::vector<int>>& m) {
        seen = &m.payload;
        CHECK(m.payload == std::vector<int>{1, 2, 3});
    });
    const std::vector<int> published{1, 2, 3};
    CHECK(broker.publish(topic, published) == 1);
    CHECK(seen == &published); // an inline publish of an lvalue hands over the caller's object
}

TEMPLATE_TEST_CASE("message: a pattern's sequence counts the publications it matched, over all "
                   "channels",
                   "[message]", SafeBroker, SingleBroker) {
    TestType broker;
    std::vector<std::string> got;
    auto by_pattern = broker.psubscribe("s:*", [&](const herald::Message<std::string>& m) {
        got.push_back("p" + std::to_string(m.sequence) + ":" + std::string(m.channel));
    });
    auto exact = broker.subscribe("s:b", [&](const herald::Message<std::string>& m) {
        got.push_back("e" + std::to_string(m.sequence) + ":" + std::string(m.channel));
    });
    broker.publish("s:a", "x");
    broker.publish("s:b", "x");
    broker.publish("s:a", "x");
    CHECK(got == std::vector<std::string>{"p1:s:a", "e1:s:b", "p2:s:b", "p3:s:a"});
}

TEMPLATE_TEST_CASE("message: the envelope carries kind, channel, payload, sequence and time",
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

TEST_CASE("message: a message cannot be copied, so no copy outlives its delivery", "[message]") {
    static_assert(!std::is_copy_constructible_v<herald::Message<std::string>>);
    static_assert(!std::is_copy_assignable_v<herald::Message<std::string>>);
    herald::Broker broker;
    std::vector<std::string> kept;
    auto s = broker.subscribe(
        "m", [&](const herald::Message<std::string>& m) { kept.push_back(m.payload); });
    broker.publish("m", "copied out");
    CHECK(kept == std::vector<std::string>{"copied out"});
}
