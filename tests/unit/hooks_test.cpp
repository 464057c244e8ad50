// The broker's extension hooks (detail/hooks.hpp): interest events at the transitions only,
// replayed on install, before_publish taking a message over, publish_local narrowing delivery.

#include "test_catch.hpp"

#include <herald/herald.hpp>

#include <string>
#include <vector>

namespace {

struct Recorder final : herald::detail::BrokerHooks {
    std::vector<std::string> events;
    bool take_over = false;
    std::size_t last_receivers = 99;

    bool before_publish(const herald::detail::PublishEvent& e) override {
        events.push_back("publish " + std::string(e.channel));
        return !take_over;
    }
    void after_publish(const herald::detail::PublishEvent&, std::size_t receivers) override {
        last_receivers = receivers;
    }
    void channel_interest(std::string_view channel, const herald::detail::TypeKey&,
                          herald::detail::Interest i) override {
        events.push_back(std::string(i == herald::detail::Interest::appeared ? "+" : "-") +
                         std::string(channel));
    }
    void pattern_interest(const herald::Pattern& p, herald::detail::Interest i) override {
        events.push_back(std::string(i == herald::detail::Interest::appeared ? "+p " : "-p ") +
                         p.text());
    }
};

} // namespace

TEST_CASE("hooks: interest is reported at the first and last subscription only, and replayed") {
    herald::Broker broker;
    auto& impl = herald::detail::BrokerAccess::impl(broker);
    auto early = broker.subscribe("a", [](const std::string&) {});
    Recorder r;
    impl.install_hooks(r);
    CHECK(r.events == std::vector<std::string>{"+a"});
    CHECK_THROWS_AS(impl.install_hooks(r), std::logic_error);
    {
        auto s1 = broker.subscribe("b", [](const std::string&) {});
        auto s2 = broker.subscribe("b", [](const std::string&) {});
        auto p1 = broker.psubscribe("x*", [](const std::string&) {});
        auto p2 = broker.psubscribe("x*", [](const std::string&) {});
    }
    CHECK(r.events == std::vector<std::string>{"+a", "+b", "+p x*", "-p x*", "-b"});
    r.events.clear();
    broker.shutdown();
    CHECK(r.events == std::vector<std::string>{"-a"});
    impl.remove_hooks();
}

TEST_CASE("hooks: before_publish may take a message over; publish_local skips the hooks") {
    herald::Broker broker;
    auto& impl = herald::detail::BrokerAccess::impl(broker);
    Recorder r;
    impl.install_hooks(r);
    int exact = 0;
    int pattern = 0;
    auto s = broker.subscribe("n", [&](const std::string&) { ++exact; });
    auto p = broker.psubscribe("n*", [&](const std::string&) { ++pattern; });
    CHECK(broker.publish("n", "one") == 2);
    CHECK(r.last_receivers == 2);
    r.take_over = true;
    CHECK(broker.publish("n", "two") == 0);
    CHECK(exact == 1);
    r.events.clear();
    std::string payload = "three";
    CHECK(impl.publish_local<std::string>("n", payload, nullptr,
                                          herald::detail::LocalTarget::exact) == 1);
    const herald::Pattern n_star("n*");
    CHECK(impl.publish_local<std::string>("n", payload, nullptr,
                                          herald::detail::LocalTarget::pattern, &n_star) == 1);
    CHECK(impl.publish_local<std::string>("n", payload, nullptr) == 2);
    CHECK(r.events.empty());
    CHECK(exact == 3);
    CHECK(pattern == 3);
    impl.remove_hooks();
    CHECK(broker.publish("n", "four") == 2);
}
