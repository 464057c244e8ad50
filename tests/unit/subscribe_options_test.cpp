// Unit tests of <herald/subscribe_options.hpp>: content filters and deduplication, for every
// subscription kind (inline, queued, mailbox; exact and pattern).
#include <herald/subscribe_options.hpp>

#include <herald/broker.hpp>
#include <herald/executor.hpp>
#include <herald/topic.hpp>

#include "test_catch.hpp"

#include <any>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

struct Order {
    int id = 0;
    int total = 0;
};

using SafeBroker = herald::Broker<std::string, herald::thread_safe>;
using SingleBroker = herald::Broker<std::string, herald::single_threaded>;

herald::queued manual(herald::ManualExecutor& executor, std::size_t capacity = 16) {
    herald::queued q;
    q.capacity = capacity;
    q.executor = executor.executor();
    return q;
}

} // namespace

TEMPLATE_TEST_CASE("subscribe_options: a payload filter keeps its subscriber out of the "
                   "receiver count and counts what it refused",
                   "[subscribe_options]", SafeBroker, SingleBroker) {
    TestType broker;
    std::vector<std::string> got;
    auto long_only = broker.subscribe(
        "words", [&](const std::string& s) { got.push_back(s); },
        herald::filter([](const std::string& s) { return s.size() > 3; }));
    auto everything = broker.subscribe("words", [](const std::string&) {});
    CHECK(broker.publish("words", "a") == 1);
    CHECK(broker.publish("words", "longer") == 2);
    CHECK(broker.publish("words", "abc") == 1);
    CHECK(got == std::vector<std::string>{"longer"});
    const herald::SubscriptionStats s = long_only.stats();
    CHECK(s.delivered == 1);
    CHECK(s.filtered == 2);
    CHECK(s.duplicates == 0);
    CHECK(s.errors == 0);
    CHECK(everything.stats().delivered == 3);
    CHECK(everything.stats().filtered == 0);
}

TEST_CASE("subscribe_options: a message filter routes on the channel of a pattern "
          "subscription",
          "[subscribe_options]") {
    herald::Broker broker;
    std::vector<std::string> channels;
    auto sub = broker.psubscribe(
        "alerts:*",
        [&](const herald::Message<std::string>& m) { channels.emplace_back(m.channel); },
        herald::filter([](const herald::Message<std::string>& m) {
            return m.kind == herald::MessageKind::pmessage && m.pattern == "alerts:*" &&
                   m.channel != "alerts:debug";
        }));
    CHECK(broker.publish("alerts:debug", "x") == 0);
    CHECK(broker.publish("alerts:fire", "x") == 1);
    CHECK(broker.publish("alerts:flood", "x") == 1);
    CHECK(channels == std::vector<std::string>{"alerts:fire", "alerts:flood"});
    CHECK(sub.stats().filtered == 1);
}

TEST_CASE("subscribe_options: a queued subscription's filter runs before the queue, so a "
          "refused message takes no room",
          "[subscribe_options][queue]") {
    herald::Broker broker;
    herald::ManualExecutor executor;
    herald::Topic<Order> orders("orders");
    std::vector<int> ids;
    auto sub = broker.subscribe(
        orders, [&](const Order& o) { ids.push_back(o.id); }, manual(executor, 2),
        herald::filter([](const Order& o) { return o.total >= 100; }));
    std::size_t receivers = 0;
    for (int i = 1; i <= 6; ++i) {
        receivers += broker.publish(orders, Order{i, i % 2 == 0 ? 150 : 10});
    }
    CHECK(receivers == 2); // 2, 4 fit the queue of 2; 6 is dropped
    const herald::SubscriptionStats before = sub.stats();
    CHECK(before.filtered == 3);
    CHECK(before.queued == 2);
    CHECK(before.dropped == 1);
    executor.run_all();
    CHECK(ids == std::vector<int>{2, 4});
    CHECK(sub.stats().delivered == 2);
}

TEST_CASE("subscribe_options: a mailbox takes a filter and deduplication", "[subscribe_options]") {
    herald::Broker broker;
    auto inbox = broker.subscribe("jobs", herald::queued{.capacity = 8},
                                  herald::filter([](const std::string& s) { return !s.empty(); }),
                                  herald::dedup([](const std::string& s) { return s; }, 100));
    CHECK(broker.publish("jobs", "a") == 1);
    CHECK(broker.publish("jobs", "") == 0);
    CHECK(broker.publish("jobs", "a") == 0);
    CHECK(broker.publish("jobs", "b") == 1);
    std::vector<std::string> got;
    while (auto m = inbox.try_receive()) {
        got.push_back(m->payload);
    }
    CHECK(got == std::vector<std::string>{"a", "b"});
    const herald::SubscriptionStats s = inbox.stats();
    CHECK(s.filtered == 1);
    CHECK(s.duplicates == 1);
    CHECK(s.delivered + s.queued == 2);
}

TEMPLATE_TEST_CASE("subscribe_options: dedup by count forgets the oldest key once the window "
                   "is full",
                   "[subscribe_options]", SafeBroker, SingleBroker) {
    TestType broker;
    std::vector<std::string> got;
    auto sub = broker.subscribe(
        "ids", [&](const std::string& s) { got.push_back(s); },
        herald::dedup([](const std::string& s) { return s; }, 2));
    for (const char* id : {"1", "2", "1", "2", "3", "1", "3", "2"}) {
        (void)broker.publish("ids", id);
    }
    // window {1,2}: 1 and 2 are duplicates; 3 evicts 1; 1 is new again and evicts 2; 3 is a
    // duplicate; 2 is new again.
    CHECK(got == std::vector<std::string>{"1", "2", "3", "1", "2"});
    CHECK(sub.stats().duplicates == 3);
    CHECK(sub.stats().delivered == 5);
}

TEST_CASE("subscribe_options: dedup by age remembers a key for the age, not longer",
          "[subscribe_options]") {
    herald::Broker broker;
    int long_window = 0;
    int short_window = 0;
    auto remembers = broker.subscribe(
        "ids", [&](const std::string&) { ++long_window; },
        herald::dedup([](const std::string& s) { return s; }, std::chrono::hours(1)));
    auto forgets = broker.subscribe(
        "ids", [&](const std::string&) { ++short_window; },
        herald::dedup([](const std::string& s) { return s; }, 1ms));
    (void)broker.publish("ids", "x");
    std::this_thread::sleep_for(5ms); // longer than the short age, far shorter than the long
    (void)broker.publish("ids", "x");
    CHECK(long_window == 1);
    CHECK(remembers.stats().duplicates == 1);
    CHECK(short_window == 2);
    CHECK(forgets.stats().duplicates == 0);
}

TEST_CASE("subscribe_options: dedup takes a pointer to a member as its key, and a window "
          "bounded by count and age",
          "[subscribe_options]") {
    herald::Broker broker;
    herald::Topic<Order> orders("orders");
    std::vector<int> totals;
    auto sub = broker.subscribe(
        orders, [&](const Order& o) { totals.push_back(o.total); },
        herald::dedup(&Order::id, herald::DedupWindow{16, std::chrono::minutes(5)}));
    CHECK(broker.publish(orders, Order{1, 10}) == 1);
    CHECK(broker.publish(orders, Order{1, 20}) == 0); // same id: a redelivery
    CHECK(broker.publish(orders, Order{2, 30}) == 1);
    CHECK(totals == std::vector<int>{10, 30});
}

TEST_CASE("subscribe_options: the filter runs first, so a filtered message takes no dedup key",
          "[subscribe_options]") {
    herald::Broker broker;
    herald::Topic<Order> orders("orders");
    std::vector<int> totals;
    auto sub = broker.subscribe(
        orders, [&](const Order& o) { totals.push_back(o.total); }, herald::dedup(&Order::id, 8),
        herald::filter([](const Order& o) { return o.total > 0; }));
    CHECK(broker.publish(orders, Order{7, 0}) == 0);  // filtered: id 7 not remembered
    CHECK(broker.publish(orders, Order{7, 40}) == 1); // so this one is not a duplicate
    CHECK(broker.publish(orders, Order{7, 50}) == 0); // this one is
    CHECK(totals == std::vector<int>{40});
    CHECK(sub.stats().filtered == 1);
    CHECK(sub.stats().duplicates == 1);
}

TEST_CASE("subscribe_options: a filter that throws counts as the handler throwing: error hook, "
          "dead letter, errors",
          "[subscribe_options][errors]") {
    herald::BrokerOptions options;
    options.dead_letter_channel = "dead";
    herald::Broker broker(options);
    std::vector<herald::ErrorKind> reported;
    broker.on_error([&](const herald::ErrorInfo& info) { reported.push_back(info.kind); });
    std::vector<std::string> dead;
    herald::Topic<herald::DeadLetter> letters("dead");
    auto dl = broker.subscribe(letters, [&](const herald::DeadLetter& d) {
        dead.push_back(d.channel + "=" + std::any_cast<std::string>(d.payload));
    });
    int handled = 0;
    auto sub = broker.subscribe(
        "in", [&](const std::string&) { ++handled; },
        herald::filter([](const std::string& s) -> bool {
            if (s == "bad") {
                throw std::runtime_error("unparseable");
            }
            return true;
        }));
    CHECK(broker.publish("in", "bad") == 1); // a receiver whose handling threw, as for handlers
    CHECK(broker.publish("in", "good") == 1);
    CHECK(handled == 1);
    CHECK(reported == std::vector<herald::ErrorKind>{herald::ErrorKind::handler_exception});
    CHECK(dead == std::vector<std::string>{"in=bad"});
    CHECK(sub.stats().errors == 1);
    CHECK(sub.stats().delivered == 1);
}

TEST_CASE("subscribe_options: a dedup window without a bound is refused at subscribe time",
          "[subscribe_options][errors]") {
    herald::Broker broker;
    const auto key = [](const std::string& s) { return s; };
    CHECK_THROWS_AS(broker.subscribe(
                        "x", [](const std::string&) {}, herald::dedup(key, herald::DedupWindow{})),
                    herald::subscribe_options_error);
    try {
        auto s = broker.subscribe(
            "x", [](const std::string&) {}, herald::dedup(key, herald::DedupWindow{0, -1s}));
        FAIL("a negative age was accepted");
    } catch (const herald::subscribe_options_error& e) {
        CHECK(std::string(e.what()).find("negative") != std::string::npos);
    }
    static_assert(std::is_base_of_v<std::invalid_argument, herald::subscribe_options_error>);
    CHECK(broker.numsub("x") == 0);
}

TEST_CASE("subscribe_options: one filter object can be given to several subscriptions",
          "[subscribe_options]") {
    herald::Broker broker;
    const auto odd = herald::filter([](const std::string& s) { return s.size() % 2 == 1; });
    auto a = broker.subscribe(
        "n", [](const std::string&) {}, odd);
    auto b = broker.subscribe(
        "n", [](const std::string&) {}, herald::queued{}, odd);
    CHECK(broker.publish("n", "x") == 2);
    CHECK(broker.publish("n", "xx") == 0);
}

TEST_CASE("subscribe_options: the predicate and key function are destroyed when the "
          "subscription ends, and the counts survive the broker",
          "[subscribe_options][lifetime]") {
    auto token = std::make_shared<int>(0);
    herald::Subscription sub;
    {
        herald::Broker broker;
        sub = broker.subscribe(
            "x", [](const std::string&) {},
            herald::filter([token](const std::string& s) { return s != "no"; }),
            herald::dedup([token](const std::string& s) { return s; }, 4));
        CHECK(token.use_count() == 3);
        (void)broker.publish("x", "no");
        (void)broker.publish("x", "yes");
        (void)broker.publish("x", "yes");
    }
    CHECK(token.use_count() == 1); // the broker let go of the subscription
    const herald::SubscriptionStats s = sub.stats();
    CHECK(s.filtered == 1);
    CHECK(s.duplicates == 1);
    CHECK(s.delivered == 1);
    CHECK_FALSE(s.active);
}

TEST_CASE("subscribe_options: a queued pattern subscription deduplicates across channels",
          "[subscribe_options][queue]") {
    herald::Broker broker;
    herald::ManualExecutor executor;
    std::vector<std::string> got;
    auto sub = broker.psubscribe(
        "sensor:*",
        [&](const herald::Message<std::string>& m) {
            got.push_back(std::string(m.channel) + "/" + m.payload);
        },
        manual(executor), herald::dedup([](const std::string& s) { return s; }, 10));
    CHECK(broker.publish("sensor:a", "r1") == 1);
    CHECK(broker.publish("sensor:b", "r1") == 0); // the same reading seen through another channel
    CHECK(broker.publish("sensor:b", "r2") == 1);
    executor.run_all();
    CHECK(got == std::vector<std::string>{"sensor:a/r1", "sensor:b/r2"});
}
