// Unit tests of <herald/errors.hpp>: herald's exceptions, the exception policies and what the
// error hook is told.
#include <herald/errors.hpp>

#include <herald/broker.hpp>
#include <herald/executor.hpp>
#include <herald/queue.hpp>

#include "test_catch.hpp"

#include <cstdio>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#if defined(__linux__)
#include <csignal>
#include <sys/wait.h>
#include <unistd.h>
#endif

using SafeBroker = herald::Broker<std::string, herald::thread_safe>;
using SingleBroker = herald::Broker<std::string, herald::single_threaded>;

TEST_CASE("errors: herald's exceptions are one family under std::runtime_error", "[errors]") {
    static_assert(std::is_base_of_v<std::runtime_error, herald::error>);
    static_assert(std::is_base_of_v<herald::error, herald::type_mismatch_error>);
    static_assert(std::is_base_of_v<herald::error, herald::dispatch_depth_error>);
    static_assert(std::is_base_of_v<herald::error, herald::broker_closed_error>);
    const herald::broker_closed_error closed("herald: closed");
    const herald::error& as_error = closed;
    CHECK(std::string(as_error.what()) == "herald: closed");
}

TEST_CASE("errors: type_mismatch_error names the channel and both types", "[errors]") {
    const herald::type_mismatch_error e("orders", "Order", "std::string");
    CHECK(std::string(e.what()) == "herald: channel 'orders' carries payload type 'Order' but was "
                                   "used with payload type 'std::string'");
    CHECK(e.channel() == "orders");
    CHECK(e.bound_type() == "Order");
    CHECK(e.requested_type() == "std::string");
}

TEST_CASE("errors: dispatch_depth_error names the channel and the limit", "[errors]") {
    const herald::dispatch_depth_error e("loop", 8);
    CHECK(std::string(e.what()) ==
          "herald: publish to 'loop' refused: dispatch nesting exceeds the limit of 8");
}

TEMPLATE_TEST_CASE("errors: the error hook of a pattern subscription is told the pattern and the "
                   "exception",
                   "[errors]", SafeBroker, SingleBroker) {
    TestType broker;
    std::vector<herald::ErrorInfo> infos;
    std::string pattern, channel;
    broker.on_error([&](const herald::ErrorInfo& info) {
        infos.push_back(info);
        pattern = info.pattern; // the views are valid during the call only
        channel = info.channel;
    });
    auto sub = broker.psubscribe("jobs:*", [](const std::string&) { throw std::logic_error("x"); });
    CHECK(broker.publish("jobs:1", "x") == 1);
    REQUIRE(infos.size() == 1);
    CHECK(infos[0].kind == herald::ErrorKind::handler_exception);
    CHECK(infos[0].subscription_id == sub.id());
    CHECK(pattern == "jobs:*");
    CHECK(channel == "jobs:1");
    REQUIRE(infos[0].exception != nullptr);
    CHECK_THROWS_AS(std::rethrow_exception(infos[0].exception), std::logic_error);
}

TEST_CASE("errors: a disconnect overflow reaches the error hook with no exception", "[errors]") {
    herald::Broker broker;
    herald::ManualExecutor executor;
    std::vector<herald::ErrorInfo> infos;
    broker.on_error([&](const herald::ErrorInfo& info) { infos.push_back(info); });
    herald::queued q;
    q.capacity = 1;
    q.overflow = herald::Overflow::disconnect;
    q.executor = executor.executor();
    auto sub = broker.subscribe(
        "feed", [](const std::string&) {}, q);
    broker.publish("feed", "1");
    broker.publish("feed", "2");
    REQUIRE(infos.size() == 1);
    CHECK(infos[0].kind == herald::ErrorKind::queue_disconnect);
    CHECK(infos[0].exception == nullptr);
    CHECK(infos[0].subscription_id == sub.id());
}

TEMPLATE_TEST_CASE("errors: rethrow_after rethrows the first exception once every handler ran",
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
TEST_CASE("errors: the terminate policy ends the process when a handler throws",
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

TEMPLATE_TEST_CASE("errors: a throwing error hook does not break the dispatch", "[broker][errors]",
                   SafeBroker, SingleBroker) {
    TestType broker;
    broker.on_error([](const herald::ErrorInfo&) { throw std::runtime_error("hook"); });
    int after = 0;
    auto bad = broker.subscribe("t", [](const std::string&) { throw 1; });
    auto good = broker.subscribe("t", [&](const std::string&) { ++after; });
    CHECK(broker.publish("t", "x") == 2);
    CHECK(after == 1);
}

#if defined(__linux__)
namespace {

/// Runs `f` with stderr sent to a temporary file, and returns what was written there.
template <class F>
std::string capture_stderr(F&& f) {
    std::fflush(stderr);
    std::FILE* sink = std::tmpfile();
    REQUIRE(sink != nullptr);
    const int saved = ::dup(2);
    ::dup2(::fileno(sink), 2);
    f();
    std::fflush(stderr);
    ::dup2(saved, 2);
    ::close(saved);
    std::string text;
    std::rewind(sink);
    for (int c = std::fgetc(sink); c != EOF; c = std::fgetc(sink)) {
        text += static_cast<char>(c);
    }
    std::fclose(sink);
    return text;
}

} // namespace

TEST_CASE("errors: without a hook, a subscription's first handler exception is one line on "
          "stderr and later ones are only counted",
          "[errors]") {
    herald::Broker broker;
    auto s = broker.subscribe("jobs\n1",
                              [](const std::string&) { throw std::runtime_error("disk full"); });
    const std::string written = capture_stderr([&] {
        broker.publish("jobs\n1", "a");
        broker.publish("jobs\n1", "b");
    });
    CHECK(written == "herald: a handler of subscription " + std::to_string(s.id()) +
                         " threw on channel \"jobs\\x0a1\": disk full; its later exceptions are "
                         "only counted (Broker::on_error sets a hook)\n");
    CHECK(s.stats().errors == 2);

    SECTION("a hook replaces the default, and removing it brings the default back") {
        int hooked = 0;
        broker.on_error([&](const herald::ErrorInfo&) { ++hooked; });
        auto t = broker.subscribe("other", [](const std::string&) { throw 7; });
        CHECK(capture_stderr([&] { broker.publish("other", "x"); }).empty());
        CHECK(hooked == 1);
        broker.on_error({});
        auto u = broker.subscribe("third", [](const std::string&) { throw 8; });
        const std::string line = capture_stderr([&] { broker.publish("third", "x"); });
        CHECK(line.find("an exception not derived from std::exception") != std::string::npos);
    }
}

#endif

TEST_CASE("errors: the public enumerations have names without fmt", "[errors]") {
    CHECK(herald::to_string(herald::ErrorKind::handler_exception) == "handler_exception");
    CHECK(herald::to_string(herald::ErrorKind::queue_disconnect) == "queue_disconnect");
    CHECK(herald::to_string(herald::ExceptionPolicy::isolate) == "isolate");
    CHECK(herald::to_string(herald::ExceptionPolicy::rethrow_after) == "rethrow_after");
    CHECK(herald::to_string(herald::ExceptionPolicy::terminate) == "terminate");
    CHECK(herald::to_string(herald::MessageKind::pmessage) == "pmessage");
    CHECK(herald::to_string(herald::Overflow::conflate) == "conflate");
    CHECK(herald::to_string(herald::ShutdownMode::discard) == "discard");
    CHECK(herald::to_string(static_cast<herald::Overflow>(200)) == "unknown");
    static_assert(herald::to_string(herald::MessageKind::message) == "message");
}
