// Unit tests of <herald/handler.hpp>: which callables are handlers of a payload type, and which
// values may be published to it.
#include <herald/handler.hpp>

#include <herald/broker.hpp>

#include "test_catch.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace {

struct Reading {
    int value = 0;
};

[[maybe_unused]] auto by_payload = [](const Reading&) {};
[[maybe_unused]] auto by_message = [](const herald::Message<Reading>&) {};
[[maybe_unused]] auto by_anything = [](const auto&) {};
[[maybe_unused]] auto by_int = [](int) {};

struct MoveOnlyHandler {
    std::unique_ptr<int> state;
    void operator()(const Reading&) const {}
};

} // namespace

TEST_CASE("handler: a handler takes the payload or the message, and is stored by value",
          "[handler]") {
    static_assert(herald::PayloadHandler<decltype(by_payload), Reading>);
    static_assert(!herald::EnvelopeHandler<decltype(by_payload), Reading>);
    static_assert(herald::EnvelopeHandler<decltype(by_message), Reading>);
    static_assert(!herald::PayloadHandler<decltype(by_message), Reading>);
    static_assert(herald::Handler<decltype(by_payload), Reading>);
    static_assert(herald::Handler<decltype(by_message), Reading>);
    static_assert(herald::Handler<decltype(by_anything), Reading>);
    static_assert(!herald::Handler<decltype(by_int), Reading>);
    // Moved in when it is an rvalue; an lvalue of a move-only type cannot be stored.
    static_assert(herald::Handler<MoveOnlyHandler, Reading>);
    static_assert(!herald::Handler<MoveOnlyHandler&, Reading>);
    SUCCEED();
}

TEST_CASE("handler: the payload type and, for string channels, anything string-like may be "
          "published",
          "[handler]") {
    static_assert(herald::PublishableTo<Reading, Reading>);
    static_assert(herald::PublishableTo<const Reading&, Reading>);
    static_assert(!herald::PublishableTo<int, Reading>);
    static_assert(herald::PublishableTo<const char*, std::string>);
    static_assert(herald::PublishableTo<std::string_view, std::string>);
    static_assert(herald::PublishableTo<std::string&, std::string>);
    static_assert(!herald::PublishableTo<const char*, Reading>);
    static_assert(!herald::PublishableTo<int, std::string>);
    SUCCEED();
}

TEST_CASE("handler: a handler that could take either is given the payload", "[handler]") {
    herald::Broker broker;
    std::vector<std::string> got;
    auto sub = broker.subscribe("either", [&](const auto& value) {
        if constexpr (std::is_same_v<std::remove_cvref_t<decltype(value)>, std::string>) {
            got.push_back(value);
        } else {
            got.push_back("a message");
        }
    });
    CHECK(broker.publish("either", "payload") == 1);
    CHECK(got == std::vector<std::string>{"payload"});
}

TEST_CASE("handler: a move-only handler is moved into its subscription", "[handler]") {
    herald::Broker<> broker;
    const herald::Topic<Reading> topic{"r"};
    int seen = 0;
    auto sub = broker.subscribe(topic, [state = std::make_unique<int>(0), &seen](const Reading& r) {
        *state += r.value;
        seen = *state;
    });
    broker.publish(topic, Reading{2});
    broker.publish(topic, Reading{3});
    CHECK(seen == 5);
}
