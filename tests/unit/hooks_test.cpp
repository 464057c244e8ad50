// The broker's extension points (detail/hooks.hpp): the publish tap before and after delivery,
// local-only publishing, and the registry's interest events.
#include <herald/detail/hooks.hpp>
#include <herald/herald.hpp>

#include "test_catch.hpp"

#include <atomic>
#include <cstddef>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace {

using herald::detail::BrokerAccess;
using herald::detail::Interest;
using herald::detail::PublishEvent;

// `mark` followed by `name`, appended: `"+" + std::string(name)` meets GCC 12's -Wrestrict
// false positive at -O3.
std::string marked(std::string_view mark, std::string_view name) {
    std::string out(mark);
    out += name;
    return out;
}

struct Recorder final : herald::detail::BrokerHooks {
    bool deliver_locally = true;
    std::vector<std::string> before;
    std::vector<std::pair<std::string, std::size_t>> after;
    std::vector<std::string> interest; // "+name" / "-name", "+p:pattern" / "-p:pattern"
    std::mutex mutex;

    bool before_publish(const PublishEvent& event) override {
        std::lock_guard lock(mutex);
        std::string seen(event.channel);
        if (*event.type == herald::detail::type_key<std::string>) {
            seen += "=" + *static_cast<const std::string*>(event.payload);
        }
        before.push_back(seen);
        return deliver_locally;
    }
    void after_publish(const PublishEvent& event, std::size_t receivers) override {
        std::lock_guard lock(mutex);
        after.emplace_back(std::string(event.channel), receivers);
    }
    void channel_interest(std::string_view channel, const herald::detail::TypeKey&,
                          Interest what) override {
        interest.push_back(marked(what == Interest::appeared ? "+" : "-", channel));
    }
    void pattern_interest(const herald::Pattern& pattern, Interest what) override {
        interest.push_back(marked(what == Interest::appeared ? "+p:" : "-p:", pattern.text()));
    }
};

struct Point {
    int x = 0;
};

} // namespace

TEST_CASE("hooks: before_publish and after_publish see every publish with its receiver count",
          "[hooks]") {
    herald::Broker broker;
    Recorder hooks;
    BrokerAccess::impl(broker).install_hooks(hooks);
    int got = 0;
    auto s = broker.subscribe("a", [&](const std::string&) { ++got; });
    auto p = broker.psubscribe("a*", [&](const std::string&) { ++got; });
    CHECK(broker.publish("a", "one") == 2);
    CHECK(broker.publish("b", "two") == 0);
    CHECK(got == 2);
    CHECK(hooks.before == std::vector<std::string>{"a=one", "b=two"});
    CHECK(hooks.after == std::vector<std::pair<std::string, std::size_t>>{{"a", 2}, {"b", 0}});
    BrokerAccess::impl(broker).remove_hooks();
}

TEST_CASE("hooks: before_publish returning false takes the message over", "[hooks]") {
    herald::Broker broker;
    Recorder hooks;
    hooks.deliver_locally = false;
    BrokerAccess::impl(broker).install_hooks(hooks);
    int got = 0;
    auto s = broker.subscribe("a", [&](const std::string&) { ++got; });
    CHECK(broker.publish("a", "x") == 0);
    CHECK(got == 0);
    CHECK(hooks.after.empty());

    SECTION("publish_local still reaches local subscribers, without the hooks") {
        const std::string payload = "from elsewhere";
        CHECK(BrokerAccess::impl(broker).publish_local<std::string>("a", payload, nullptr) == 1);
        CHECK(got == 1);
        CHECK(hooks.before.size() == 1);
    }
    BrokerAccess::impl(broker).remove_hooks();
}

TEST_CASE("hooks: a pinned publisher's publishes pass the hooks too", "[hooks]") {
    herald::Broker broker;
    Recorder hooks;
    BrokerAccess::impl(broker).install_hooks(hooks);
    const herald::Topic<Point> topic{"points"};
    auto publisher = broker.publisher(topic);
    publisher.publish(Point{3});
    REQUIRE(hooks.before.size() == 1);
    CHECK(hooks.before[0] == "points");
    BrokerAccess::impl(broker).remove_hooks();
}

TEST_CASE("hooks: interest appears with the first subscription and goes with the last", "[hooks]") {
    herald::Broker broker;
    Recorder hooks;
    auto early = broker.subscribe("early", [](const std::string&) {});
    auto early_pattern = broker.psubscribe("e*", [](const std::string&) {});
    BrokerAccess::impl(broker).install_hooks(hooks);
    // Installing tells the hooks of what is subscribed already.
    CHECK(hooks.interest == std::vector<std::string>{"+early", "+p:e*"});
    hooks.interest.clear();

    auto a1 = broker.subscribe("a", [](const std::string&) {});
    auto a2 = broker.subscribe("a", [](const std::string&) {});
    auto g1 = broker.psubscribe("g.*", [](const std::string&) {});
    auto g2 = broker.psubscribe("g.*", [](const std::string&) {});
    auto n1 = broker.psubscribe(herald::nats_pattern("g.*"), [](const std::string&) {});
    CHECK(hooks.interest == std::vector<std::string>{"+a", "+p:g.*", "+p:g.*"});
    hooks.interest.clear();

    a1.unsubscribe();
    g1.unsubscribe();
    CHECK(hooks.interest.empty());
    a2.unsubscribe();
    g2.unsubscribe();
    n1.unsubscribe();
    CHECK(hooks.interest == std::vector<std::string>{"-a", "-p:g.*", "-p:g.*"});
    hooks.interest.clear();

    SECTION("shutdown reports every interest that is left as gone") {
        broker.shutdown();
        CHECK(hooks.interest == std::vector<std::string>{"-early", "-p:e*"});
    }
    SECTION("after remove_hooks nothing is reported") {
        BrokerAccess::impl(broker).remove_hooks();
        auto later = broker.subscribe("later", [](const std::string&) {});
        CHECK(hooks.interest.empty());
    }
    BrokerAccess::impl(broker).remove_hooks();
}

TEST_CASE("hooks: a broker takes one hooks object at a time", "[hooks]") {
    herald::Broker broker;
    Recorder first;
    Recorder second;
    BrokerAccess::impl(broker).install_hooks(first);
    CHECK_THROWS_AS(BrokerAccess::impl(broker).install_hooks(second), std::logic_error);
    BrokerAccess::impl(broker).remove_hooks();
    BrokerAccess::impl(broker).install_hooks(second);
    broker.publish("x", "y");
    CHECK(first.before.empty());
    CHECK(second.before.size() == 1);
    BrokerAccess::impl(broker).remove_hooks();
}

TEST_CASE("hooks: interest events stay balanced under concurrent subscribe and unsubscribe",
          "[hooks][threads]") {
    struct Balance final : herald::detail::BrokerHooks {
        // Called under the writer lock: no lock of its own needed.
        std::map<std::string, int> live;
        int violations = 0;
        void channel_interest(std::string_view channel, const herald::detail::TypeKey&,
                              Interest what) override {
            int& n = live[std::string(channel)];
            n += what == Interest::appeared ? 1 : -1;
            if (n < 0 || n > 1) {
                ++violations;
            }
        }
    } balance;
    herald::Broker broker;
    BrokerAccess::impl(broker).install_hooks(balance);
    std::vector<std::thread> threads;
    std::atomic<int> ready{0};
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            ready.fetch_add(1);
            while (ready.load() < 4) {
            }
            for (int i = 0; i < 500; ++i) {
                auto s = broker.subscribe(i % 2 == 0 ? "even" : "odd", [](const std::string&) {});
                broker.publish("even", "x");
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    CHECK(balance.violations == 0);
    CHECK(balance.live["even"] == 0);
    CHECK(balance.live["odd"] == 0);
    CHECK(broker.numsub("even") == 0);
    BrokerAccess::impl(broker).remove_hooks();
}

TEST_CASE("hooks: publish_local can reach only the exact subscribers or only one pattern's",
          "[hooks]") {
    herald::Broker broker;
    std::vector<std::string> got;
    auto exact = broker.subscribe("news:a", [&](const std::string&) { got.push_back("exact"); });
    auto star = broker.psubscribe("news:*", [&](const std::string&) { got.push_back("star"); });
    auto any = broker.psubscribe("*", [&](const std::string&) { got.push_back("any"); });
    auto& impl = BrokerAccess::impl(broker);
    const std::string payload = "x";

    CHECK(impl.publish_local<std::string>("news:a", payload, nullptr,
                                          herald::detail::LocalTarget::exact) == 1);
    CHECK(got == std::vector<std::string>{"exact"});
    got.clear();
    const herald::Pattern pattern("news:*");
    CHECK(impl.publish_local<std::string>("news:a", payload, nullptr,
                                          herald::detail::LocalTarget::pattern, &pattern) == 1);
    CHECK(got == std::vector<std::string>{"star"});
    got.clear();
    const herald::Pattern unknown("nobody:*");
    CHECK(impl.publish_local<std::string>("news:a", payload, nullptr,
                                          herald::detail::LocalTarget::pattern, &unknown) == 0);
    CHECK(impl.publish_local<std::string>("news:a", payload, nullptr) == 3);
    CHECK(got.size() == 3);
}
