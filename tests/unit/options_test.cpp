// Unit tests of <herald/options.hpp>: the concurrency policies, BrokerOptions and the dead
// letter.
#include <herald/options.hpp>

#include <herald/broker.hpp>
#include <herald/topic.hpp>

#include "test_catch.hpp"

#include <any>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

using SafeBroker = herald::Broker<std::string, herald::thread_safe>;
using SingleBroker = herald::Broker<std::string, herald::single_threaded>;

TEST_CASE("options: a default broker is thread-safe, carries strings and isolates failures",
          "[options]") {
    static_assert(std::is_same_v<herald::Broker<>, SafeBroker>);
    static_assert(std::is_empty_v<herald::thread_safe> && std::is_empty_v<herald::single_threaded>);
    const herald::BrokerOptions defaults;
    CHECK(defaults.exception_policy == herald::ExceptionPolicy::isolate);
    CHECK(defaults.max_depth == 256);
    CHECK(defaults.dead_letter_channel.empty());
    CHECK(defaults.workers == 1);
}

TEMPLATE_TEST_CASE("options: a dead letter of a pattern subscription names the pattern",
                   "[options][errors]", SafeBroker, SingleBroker) {
    herald::BrokerOptions options;
    options.dead_letter_channel = "dead";
    TestType broker(options);
    std::vector<herald::DeadLetter> letters;
    auto dl = broker.subscribe(herald::Topic<herald::DeadLetter>{"dead"},
                               [&](const herald::DeadLetter& l) { letters.push_back(l); });
    auto failing = broker.psubscribe("orders:*", [](const std::string&) { throw 7; });
    CHECK(broker.publish("orders:eu", "bad") == 1);
    REQUIRE(letters.size() == 1);
    CHECK(letters[0].pattern == "orders:*");
    CHECK(letters[0].channel == "orders:eu");
    CHECK(letters[0].subscription_id == failing.id());
    CHECK(std::any_cast<std::string>(letters[0].payload) == "bad");
}

TEST_CASE("options: the dead letter of a payload that cannot be copied carries no payload",
          "[options][errors]") {
    herald::BrokerOptions options;
    options.dead_letter_channel = "dead";
    herald::Broker<> broker(options);
    std::vector<herald::DeadLetter> letters;
    auto dl = broker.subscribe(herald::Topic<herald::DeadLetter>{"dead"},
                               [&](const herald::DeadLetter& l) { letters.push_back(l); });
    const herald::Topic<std::unique_ptr<int>> owned{"owned"};
    auto failing = broker.subscribe(owned, [](const std::unique_ptr<int>&) { throw 7; });
    CHECK(broker.publish(owned, std::make_unique<int>(1)) == 1);
    REQUIRE(letters.size() == 1);
    CHECK(letters[0].channel == "owned");
    CHECK_FALSE(letters[0].payload.has_value());
    CHECK(letters[0].error != nullptr);
}

TEST_CASE("options: max_depth outside 1..HERALD_MAX_DISPATCH_DEPTH is rejected", "[broker]") {
    herald::BrokerOptions zero;
    zero.max_depth = 0;
    CHECK_THROWS_AS(herald::Broker<>(zero), std::invalid_argument);
    herald::BrokerOptions huge;
    huge.max_depth = 1u << 20;
    CHECK_THROWS_AS(herald::Broker<>(huge), std::invalid_argument);
}

TEMPLATE_TEST_CASE("options: the dead-letter channel receives the failed message",
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
