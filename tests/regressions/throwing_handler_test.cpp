// Regression: handler 2 of 3 throws.
//
// Sources: Boost.Signals2 (an exception from a slot propagates out of the signal call and the
// remaining slots are never called) and eventpp EventQueue::process (an exception from a
// listener leaves the rest of the queue unprocessed: queued events after it are lost or stuck).
// herald isolates handler failures by default: the other handlers run, the error hook gets the
// channel and the subscription id, and a queued subscription goes on with the messages after
// the failed one.
#include <herald/herald.hpp>

#include "test_catch.hpp"
#include "test_helpers.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using SafeBroker = herald::Broker<std::string, herald::thread_safe>;
using SingleBroker = herald::Broker<std::string, herald::single_threaded>;

struct Report {
    std::string channel;
    std::string pattern;
    std::uint64_t id;
};

} // namespace

TEMPLATE_TEST_CASE("regression: when handler 2 of 3 throws, handlers 1 and 3 run and the error "
                   "hook gets the channel and id (Boost.Signals2)",
                   "[regression][errors]", SafeBroker, SingleBroker) {
    TestType broker;
    std::vector<Report> reports;
    broker.on_error([&](const herald::ErrorInfo& info) {
        reports.push_back(
            {std::string(info.channel), std::string(info.pattern), info.subscription_id});
    });
    std::vector<int> ran;
    auto h1 = broker.subscribe("jobs", [&](const std::string&) { ran.push_back(1); });
    auto h2 = broker.subscribe("jobs", [&](const std::string&) {
        ran.push_back(2);
        throw std::runtime_error("handler 2 failed");
    });
    auto h3 = broker.subscribe("jobs", [&](const std::string&) { ran.push_back(3); });
    // The same with three pattern subscriptions, the failing one in the middle.
    auto p1 = broker.psubscribe("j*", [&](const std::string&) { ran.push_back(11); });
    auto p2 = broker.psubscribe("jo*", [&](const std::string&) {
        ran.push_back(12);
        throw 12;
    });
    auto p3 = broker.psubscribe("job*", [&](const std::string&) { ran.push_back(13); });

    CHECK(broker.publish("jobs", "a") == 6);
    CHECK(broker.publish("jobs", "b") == 6);
    std::sort(ran.begin(), ran.end());
    CHECK(ran == std::vector<int>{1, 1, 2, 2, 3, 3, 11, 11, 12, 12, 13, 13});
    REQUIRE(reports.size() == 4);
    for (const auto& r : reports) {
        CHECK(r.channel == "jobs");
        CHECK((r.id == h2.id() || r.id == p2.id()));
        CHECK(r.pattern == (r.id == p2.id() ? "jo*" : ""));
    }
    CHECK(h1.stats().delivered == 2);
    CHECK(h2.stats().errors == 2);
    CHECK(h2.stats().delivered == 0);
    CHECK(h3.stats().delivered == 2);
    CHECK(p2.stats().errors == 2);
    CHECK(p3.stats().delivered == 2);
    CHECK(broker.stats().errors == 4);
}

TEST_CASE("regression: when queued handler 2 of 3 throws, every queued message after the "
          "failure is still delivered to all three (eventpp EventQueue::process)",
          "[regression][errors]") {
    herald::Broker broker;
    herald::ManualExecutor executor;
    std::vector<Report> reports;
    broker.on_error([&](const herald::ErrorInfo& info) {
        reports.push_back(
            {std::string(info.channel), std::string(info.pattern), info.subscription_id});
    });
    herald::queued q;
    q.executor = executor.executor();
    std::vector<std::string> got1, got2, got3;
    auto h1 = broker.subscribe(
        "jobs", [&](const std::string& m) { got1.push_back(m); }, q);
    auto h2 = broker.subscribe(
        "jobs",
        [&](const std::string& m) {
            got2.push_back(m);
            if (m == "2" || m == "4") {
                throw std::runtime_error("cannot process " + m);
            }
        },
        q);
    auto h3 = broker.subscribe(
        "jobs", [&](const std::string& m) { got3.push_back(m); }, q);
    for (int i = 1; i <= 5; ++i) {
        CHECK(broker.publish("jobs", std::to_string(i)) == 3);
    }
    executor.run_all();
    const std::vector<std::string> all{"1", "2", "3", "4", "5"};
    CHECK(got1 == all);
    CHECK(got2 == all); // the messages after each failure were still handled
    CHECK(got3 == all);
    REQUIRE(reports.size() == 2);
    CHECK(reports[0].channel == "jobs");
    CHECK(reports[0].id == h2.id());
    const auto st = h2.stats();
    CHECK(st.errors == 2);
    CHECK(st.delivered == 3);
    CHECK(st.queued == 0);
    CHECK(st.delivered + st.errors == 5);
}

TEST_CASE("regression: a queued handler throwing on the worker pool loses nothing queued "
          "behind it (eventpp EventQueue::process, on worker threads)",
          "[regression][errors][threads]") {
    herald::Broker<int> broker;
    std::atomic<int> failures{0};
    broker.on_error([&](const herald::ErrorInfo&) { failures.fetch_add(1); });
    constexpr int messages = 2000;
    std::mutex mutex;
    std::vector<int> got;
    herald::queued q;
    q.capacity = messages;
    auto sub = broker.subscribe(
        "n",
        [&](const int& v) {
            {
                std::lock_guard lock(mutex);
                got.push_back(v);
            }
            if (v % 3 == 0) {
                throw v;
            }
        },
        q);
    for (int i = 0; i < messages; ++i) {
        broker.publish("n", i);
    }
    broker.shutdown(); // drains what is still queued
    REQUIRE(got.size() == static_cast<std::size_t>(messages));
    for (int i = 0; i < messages; ++i) {
        CHECK(got[static_cast<std::size_t>(i)] == i);
    }
    const auto st = sub.stats();
    constexpr auto failing = static_cast<std::uint64_t>((messages + 2) / 3);
    CHECK(st.errors == failing);
    CHECK(st.delivered + st.errors == static_cast<std::uint64_t>(messages));
    CHECK(static_cast<std::uint64_t>(failures.load()) == failing);
}
