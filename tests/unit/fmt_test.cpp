// Unit tests of <herald/fmt.hpp>: fmt formatters for herald's public types. Built only when
// fmt is found (tests/CMakeLists.txt).

#include "test_catch.hpp"

#include <herald/fmt.hpp>
#include <herald/herald.hpp>

#include <fmt/format.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace {

struct Unformattable {};

struct Point {
    int x = 0;
    int y = 0;
};

template <class T>
herald::Message<T> make_message(herald::MessageKind kind, std::string_view pattern,
                                std::string_view channel, const T& payload,
                                std::uint64_t sequence) {
    return herald::Message<T>{kind,    pattern,  channel,
                              payload, sequence, std::chrono::system_clock::time_point{}};
}

} // namespace

template <>
struct fmt::formatter<Point> {
    constexpr auto parse(fmt::format_parse_context& ctx) { return ctx.begin(); }
    // Deliberately non-const, as fmt 9 and 10 allow: herald's Message formatter must cope.
    template <class FormatContext>
    auto format(const Point& p, FormatContext& ctx) -> decltype(ctx.out()) {
        return fmt::format_to(ctx.out(), "({}, {})", p.x, p.y);
    }
};

TEST_CASE("fmt: a message kind formats as its Redis name") {
    CHECK(fmt::format("{}", herald::MessageKind::message) == "message");
    CHECK(fmt::format("{}", herald::MessageKind::pmessage) == "pmessage");
    CHECK(fmt::format("[{:>9}]", herald::MessageKind::message) == "[  message]");
}

TEST_CASE("fmt: every overflow policy formats as its enumerator name") {
    CHECK(fmt::format("{}", herald::Overflow::drop_newest) == "drop_newest");
    CHECK(fmt::format("{}", herald::Overflow::drop_oldest) == "drop_oldest");
    CHECK(fmt::format("{}", herald::Overflow::conflate) == "conflate");
    CHECK(fmt::format("{}", herald::Overflow::block) == "block");
    CHECK(fmt::format("{}", herald::Overflow::disconnect) == "disconnect");
    CHECK(fmt::format("{:<12}|", herald::Overflow::block) == "block       |");
}

TEST_CASE("fmt: a channel message formats like a Redis message reply") {
    const std::string payload = "hello";
    const auto m = make_message(herald::MessageKind::message, "", "chat:general", payload, 7);
    CHECK(fmt::format("{}", m) == R"(message "chat:general" #7: hello)");
}

TEST_CASE("fmt: a pattern message shows the pattern before the channel") {
    const std::string payload = "85%";
    const auto m =
        make_message(herald::MessageKind::pmessage, "alerts:*", "alerts:cpu_load", payload, 3);
    CHECK(fmt::format("{}", m) == R"(pmessage "alerts:*" "alerts:cpu_load" #3: 85%)");
}

TEST_CASE("fmt: the format spec of a message applies to its payload") {
    const double load = 0.8512;
    const auto m = make_message(herald::MessageKind::message, "", "load", load, 1);
    CHECK(fmt::format("{:.2f}", m) == R"(message "load" #1: 0.85)");
    const int count = 42;
    const auto n = make_message(herald::MessageKind::message, "", "n", count, 2);
    CHECK(fmt::format("{:>5}", n) == R"(message "n" #2:    42)");
    CHECK(fmt::format("{:#x}", n) == R"(message "n" #2: 0x2a)");
}

TEST_CASE("fmt: binary channel names are escaped so a log line stays one line") {
    const std::string payload = "x";
    const std::string channel("a\nb\"c", 5);
    const auto m = make_message(herald::MessageKind::message, "", channel, payload, 1);
    CHECK(fmt::format("{}", m) == R"(message "a\nb\"c" #1: x)");
    const auto empty = make_message(herald::MessageKind::message, "", "", payload, 1);
    CHECK(fmt::format("{}", empty) == R"(message "" #1: x)");
}

TEST_CASE("fmt: a message with a user-formattable payload uses the user's formatter") {
    const Point p{1, -2};
    const auto m = make_message(herald::MessageKind::pmessage, "geo.*", "geo.car", p, 9);
    CHECK(fmt::format("{}", m) == R"(pmessage "geo.*" "geo.car" #9: (1, -2))");
}

TEST_CASE("fmt: a message is formattable exactly when its payload is") {
    STATIC_REQUIRE(fmt::is_formattable<herald::Message<std::string>>::value);
    STATIC_REQUIRE(fmt::is_formattable<herald::Message<int>>::value);
    STATIC_REQUIRE(fmt::is_formattable<herald::Message<Point>>::value);
    STATIC_REQUIRE_FALSE(fmt::is_formattable<herald::Message<Unformattable>>::value);
}

TEST_CASE("fmt: subscription statistics format as key=value pairs") {
    herald::SubscriptionStats s;
    s.delivered = 3;
    s.errors = 1;
    s.dropped = 2;
    s.skipped = 0;
    s.queued = 4;
    s.high_water = 5;
    s.active = true;
    CHECK(fmt::format("{}", s) ==
          "delivered=3 errors=1 dropped=2 skipped=0 filtered=0 duplicates=0 queued=4 "
          "high_water=5 active=true");
}

TEST_CASE("fmt: broker statistics format as key=value pairs") {
    herald::BrokerStats s;
    s.channels = 1;
    s.patterns = 2;
    s.subscriptions = 3;
    s.dispatched = 10;
    s.errors = 0;
    s.dropped = 4;
    s.depth_exceeded = 0;
    s.type_mismatches = 1;
    CHECK(fmt::format("{}", s) == "channels=1 patterns=2 subscriptions=3 dispatched=10 errors=0 "
                                  "dropped=4 depth_exceeded=0 type_mismatches=1");
}

TEST_CASE("fmt: statistics reject a format spec") {
    const herald::SubscriptionStats s;
    CHECK_THROWS_AS(fmt::format(fmt::runtime("{:>10}"), s), fmt::format_error);
}

TEST_CASE("fmt: messages delivered by a broker format with their real envelope") {
    herald::Broker broker;
    std::string line;
    auto sub = broker.psubscribe(
        "alerts:*", [&](const herald::Message<std::string>& m) { line = fmt::format("{}", m); });
    broker.publish("alerts:cpu_load", "85%");
    CHECK(line == R"(pmessage "alerts:*" "alerts:cpu_load" #1: 85%)");
    CHECK(fmt::format("{}", sub.stats()).find("delivered=1 ") == 0);
    CHECK(fmt::format("{}", broker.stats()).find("patterns=1 ") != std::string::npos);
}

TEST_CASE("fmt: the error kind, exception policy, shutdown mode and pattern kind format by name") {
    CHECK(fmt::format("{}", herald::ErrorKind::queue_disconnect) == "queue_disconnect");
    CHECK(fmt::format("[{:>18}]", herald::ErrorKind::handler_exception) == "[ handler_exception]");
    CHECK(fmt::format("{}", herald::ExceptionPolicy::rethrow_after) == "rethrow_after");
    CHECK(fmt::format("{}", herald::ShutdownMode::drain) == "drain");
    CHECK(fmt::format("{}", herald::PatternKind::glob) == "glob");
}
