// Unit tests of <herald/scope.hpp>: a broker seen under a prefix.
#include <herald/scope.hpp>

#include <herald/broker.hpp>
#include <herald/executor.hpp>
#include <herald/subscription_group.hpp>
#include <herald/topic.hpp>

#include "test_catch.hpp"

#include <optional>
#include <string>
#include <utility>
#include <vector>

using SafeBroker = herald::Broker<std::string, herald::thread_safe>;
using SingleBroker = herald::Broker<std::string, herald::single_threaded>;

TEMPLATE_TEST_CASE("scope: subscribe and publish add the prefix to the channel", "[scope]",
                   SafeBroker, SingleBroker) {
    TestType broker;
    auto dev = broker.scope("dev:");
    std::vector<std::string> got;
    auto sub = dev.subscribe("orders", [&](const std::string& p) { got.push_back(p); });
    CHECK(broker.numsub("dev:orders") == 1);
    CHECK(broker.numsub("orders") == 0);
    CHECK(broker.publish("dev:orders", "from the broker") == 1);
    CHECK(dev.publish("orders", "from the scope") == 1);
    CHECK(broker.publish("orders", "elsewhere") == 0);
    CHECK(got == std::vector<std::string>{"from the broker", "from the scope"});
}

TEST_CASE("scope: an envelope handler sees the channel and the pattern without the prefix",
          "[scope]") {
    SafeBroker broker;
    auto dev = broker.scope("dev:");
    std::vector<std::string> seen;
    auto exact = dev.subscribe("orders", [&](const herald::Message<std::string>& m) {
        seen.push_back(std::string(herald::to_string(m.kind)) + " " + std::string(m.channel) +
                       " [" + std::string(m.pattern) + "]");
    });
    auto pattern = dev.psubscribe("ord*", [&](const herald::Message<std::string>& m) {
        seen.push_back(std::string(herald::to_string(m.kind)) + " " + std::string(m.channel) +
                       " [" + std::string(m.pattern) + "]");
    });
    CHECK(dev.publish("orders", "x") == 2);
    CHECK(seen == std::vector<std::string>{"message orders []", "pmessage orders [ord*]"});
}

TEST_CASE("scope: glob metacharacters in the prefix are literal", "[scope]") {
    SafeBroker broker;
    auto odd = broker.scope("a*[1]?\\:");
    int got = 0;
    auto sub = odd.psubscribe("x*", [&](const std::string&) { ++got; });
    CHECK(broker.patterns().at(0).text() == "a\\*\\[1\\]\\?\\\\:x*");
    CHECK(broker.publish("a*[1]?\\:xy", "m") == 1);
    CHECK(broker.publish("abc[1]?\\:xy", "m") == 0);
    CHECK(broker.publish("a*1?\\:xy", "m") == 0);
    CHECK(got == 1);
}

TEST_CASE("scope: glob_escape makes a glob that matches exactly its text", "[scope]") {
    CHECK(herald::glob_escape("plain:") == "plain:");
    CHECK(herald::glob_escape("*?[]\\") == "\\*\\?\\[\\]\\\\");
    for (const std::string text : {"a*b", "[x]", "q?", "back\\slash", "]"}) {
        INFO(text);
        CHECK(herald::glob_match(herald::glob_escape(text), text));
        CHECK_FALSE(herald::glob_match(herald::glob_escape(text), text + "!"));
    }
    CHECK_FALSE(herald::glob_match(herald::glob_escape("a*b"), "axb"));
}

TEST_CASE("scope: a NATS pattern is prefixed when the prefix is whole tokens", "[scope]") {
    SafeBroker broker;
    auto dev = broker.scope("dev.");
    int got = 0;
    auto sub = dev.psubscribe(herald::nats_pattern("orders.>"), [&](const std::string&) { ++got; });
    CHECK(broker.patterns().at(0) == herald::nats_pattern("dev.orders.>"));
    CHECK(dev.publish("orders.eu.new", "m") == 1);
    CHECK(broker.publish("orders.eu.new", "m") == 0);
    CHECK(got == 1);
    auto colon = broker.scope("dev:");
    int colon_got = 0;
    auto by_colon = colon.psubscribe(herald::nats_pattern("orders:*", ':'),
                                     [&](const std::string&) { ++colon_got; });
    CHECK(colon.publish("orders:new", "m") == 1);
    CHECK(colon_got == 1);
}

TEST_CASE("scope: a prefix that is not whole literal tokens is refused for token patterns",
          "[scope]") {
    SafeBroker broker;
    const auto refused = [&](std::string_view prefix, const herald::Pattern& pattern,
                             std::string_view rule) {
        try {
            auto sub = broker.scope(prefix).psubscribe(pattern, [](const std::string&) {});
            FAIL("no scope_error for prefix " << prefix);
        } catch (const herald::scope_error& e) {
            INFO(e.what());
            CHECK(e.prefix() == prefix);
            CHECK(e.kind() == pattern.kind());
            CHECK(std::string(e.what()).find(rule) != std::string::npos);
            CHECK(std::string(e.what()).find(herald::to_string(pattern.kind())) !=
                  std::string::npos);
        }
    };
    refused("dev:", herald::nats_pattern("a.*"), "must end with the separator");
    refused("dev", herald::mqtt_pattern("a/+"), "must end with the separator");
    refused("dev..", herald::nats_pattern("a"), "empty token");
    refused("*.", herald::nats_pattern("a"), "wildcard token");
    refused("a.>.", herald::nats_pattern("a"), "wildcard token");
    refused("+/", herald::mqtt_pattern("a"), "wildcard");
    refused("a#/", herald::mqtt_pattern("a"), "wildcard");
    CHECK(broker.numpat() == 0);
    // A glob takes any prefix, and so does a channel.
    auto fine = broker.scope("dev:").psubscribe("a.*", [](const std::string&) {});
    CHECK(broker.numpat() == 1);
}

TEST_CASE("scope: an MQTT filter is prefixed by whole levels", "[scope]") {
    SafeBroker broker;
    auto site = broker.scope("site/7/");
    std::vector<std::string> channels;
    auto sub =
        site.psubscribe(herald::mqtt_pattern("+/temp"), [&](const herald::Message<std::string>& m) {
            channels.emplace_back(m.channel);
            CHECK(m.pattern == "+/temp");
        });
    CHECK(site.publish("hall/temp", "21") == 1);
    CHECK(site.publish("hall/light", "on") == 0);
    CHECK(broker.publish("site/8/hall/temp", "19") == 0);
    CHECK(channels == std::vector<std::string>{"hall/temp"});
}

TEST_CASE("scope: scopes nest, their prefixes joined", "[scope]") {
    SafeBroker broker;
    auto inner = broker.scope("a:").scope("b:");
    CHECK(inner.prefix() == "a:b:");
    int got = 0;
    auto sub = inner.subscribe("c", [&](const std::string&) { ++got; });
    CHECK(broker.numsub("a:b:c") == 1);
    CHECK(broker.scope("a:").publish("b:c", "m") == 1);
    CHECK(broker.scope("a:").numsub("b:c") == 1);
    CHECK(broker.scope("a:").channels() == std::vector<std::string>{"b:c"});
    CHECK(got == 1);
}

TEST_CASE("scope: introspection sees only the channels and patterns under the prefix, "
          "without it",
          "[scope]") {
    SafeBroker broker;
    auto dev = broker.scope("dev:");
    herald::SubscriptionGroup group;
    group += dev.subscribe("b", [](const std::string&) {});
    group += dev.subscribe("a", [](const std::string&) {});
    group += dev.subscribe("a", [](const std::string&) {});
    group += dev.subscribe("", [](const std::string&) {});
    group += broker.subscribe("prod:a", [](const std::string&) {});
    group += broker.subscribe("dev", [](const std::string&) {});
    group += dev.psubscribe("x*", [](const std::string&) {});
    group += dev.psubscribe("x*", [](const std::string&) {});
    group += dev.psubscribe("[ab]", [](const std::string&) {});
    group += broker.psubscribe("prod:*", [](const std::string&) {});
    group +=
        broker.scope("dev.").psubscribe(herald::nats_pattern("n.*"), [](const std::string&) {});

    CHECK(dev.channels() == std::vector<std::string>{"", "a", "b"});
    CHECK(dev.channels("[ab]") == std::vector<std::string>{"a", "b"});
    CHECK(dev.numsub("a") == 2);
    CHECK(dev.numsub("prod:a") == 0);
    CHECK(dev.numsub({"a", "b", "c"}) ==
          std::vector<std::pair<std::string, std::size_t>>{{"a", 2}, {"b", 1}, {"c", 0}});
    CHECK(dev.numpat() == 2);
    const std::vector<herald::Pattern> patterns = dev.patterns();
    REQUIRE(patterns.size() == 2);
    CHECK(patterns[0].text() == "[ab]");
    CHECK(patterns[1].text() == "x*");
    CHECK(broker.numpat() == 4);
    const std::vector<herald::Pattern> dotted = broker.scope("dev.").patterns();
    REQUIRE(dotted.size() == 1);
    CHECK(dotted[0] == herald::nats_pattern("n.*"));
}

TEST_CASE("scope: queued subscriptions and mailboxes are prefixed too", "[scope]") {
    SafeBroker broker;
    herald::ManualExecutor executor;
    auto dev = broker.scope("dev:");
    std::vector<std::string> got;
    auto queued = dev.subscribe(
        "q", [&](const herald::Message<std::string>& m) { got.emplace_back(m.channel); },
        herald::queued{.capacity = 4, .executor = executor.executor()});
    auto patterned = dev.psubscribe(
        "p*", [&](const herald::Message<std::string>& m) { got.emplace_back(m.pattern); },
        herald::queued{.capacity = 4, .executor = executor.executor()});
    auto mailbox = dev.subscribe("m", herald::queued{.capacity = 4});
    auto pattern_mailbox = dev.psubscribe("m*", herald::queued{.capacity = 4});
    CHECK(dev.publish("q", "1") == 1);
    CHECK(dev.publish("p1", "2") == 1);
    CHECK(dev.publish("m", "3") == 2);
    executor.run_all();
    CHECK(got == std::vector<std::string>{"q", "p*"});
    auto envelope = mailbox.try_receive();
    REQUIRE(envelope);
    CHECK(envelope->channel == "dev:m");
    CHECK(dev.relative(envelope->channel) == "m");
    CHECK(dev.relative("other") == "other");
    auto from_pattern = pattern_mailbox.try_receive();
    REQUIRE(from_pattern);
    CHECK(from_pattern->payload == "3");
}

TEST_CASE("scope: typed pattern subscriptions are prefixed; typed topics are not", "[scope]") {
    SafeBroker broker;
    auto dev = broker.scope("dev:");
    const herald::Topic<int> level("dev:level");
    std::vector<int> got;
    auto sub = dev.psubscribe<int>("lev*", [&](const int& v) { got.push_back(v); });
    CHECK(broker.publish(level, 3) == 1);
    CHECK(got == std::vector<int>{3});
}

TEST_CASE("scope: a scope of the empty prefix is the whole broker", "[scope]") {
    SafeBroker broker;
    auto all = broker.scope("");
    auto sub = all.psubscribe(herald::mqtt_pattern("a/#"), [](const std::string&) {});
    CHECK(broker.publish("a/b", "m") == 1);
    CHECK(all.numpat() == 1);
}

TEST_CASE("scope: a copy views the same broker under the same prefix", "[scope]") {
    SafeBroker broker;
    auto dev = broker.scope("dev:");
    auto copy = dev;
    auto sub = copy.subscribe("x", [](const std::string&) {});
    CHECK(dev.numsub("x") == 1);
    CHECK(&copy.broker() == &broker);
    dev = broker.scope("prod:");
    CHECK(dev.numsub("x") == 0);
}

TEST_CASE("scope: after shutdown a scope behaves as its broker does", "[scope]") {
    SafeBroker broker;
    auto dev = broker.scope("dev:");
    broker.shutdown();
    CHECK(dev.publish("x", "m") == 0);
    CHECK_THROWS_AS(dev.subscribe("x", [](const std::string&) {}), herald::broker_closed_error);
}

TEST_CASE("scope: MQTT's rules look at the full topic: '#' takes the parent level, '$' is "
          "no longer first",
          "[scope]") {
    SafeBroker broker;
    auto dev = broker.scope("dev/");
    std::vector<std::string> channels;
    auto all =
        dev.psubscribe(herald::mqtt_pattern("#"), [&](const herald::Message<std::string>& m) {
            channels.emplace_back(m.channel);
        });
    CHECK(broker.publish("dev", "parent") == 1);
    CHECK(dev.publish("$SYS/x", "dollar") == 1);
    CHECK(channels == std::vector<std::string>{"dev", "$SYS/x"});
    auto plus = dev.psubscribe(herald::mqtt_pattern("+/x"), [](const std::string&) {});
    CHECK(dev.publish("$SYS/x", "dollar") == 2);
}

TEMPLATE_TEST_CASE("scope: a scope that outlives its broker behaves as a shut-down broker",
                   "[scope][lifetime]", SafeBroker, SingleBroker) {
    std::optional<herald::Scope<std::string, typename TestType::policy_type>> dev;
    herald::Subscription sub;
    {
        TestType broker;
        dev.emplace(broker.scope("dev:"));
        sub = dev->subscribe("x", [](const std::string&) {});
        CHECK(dev->publish("x", "m") == 1);
        CHECK(dev->numsub("x") == 1);
    }
    CHECK(dev->publish("x", "after") == 0);
    std::string moved = "moved";
    CHECK(dev->publish("x", std::move(moved)) == 0);
    CHECK_THROWS_AS(dev->subscribe("x", [](const std::string&) {}), herald::broker_closed_error);
    CHECK_THROWS_AS(dev->psubscribe("*", [](const std::string&) {}), herald::broker_closed_error);
    CHECK(dev->numsub("x") == 0);
    CHECK(dev->channels().empty());
    CHECK(dev->numpat() == 0);
    const auto nested = dev->scope("a:");
    CHECK(nested.publish("x", "m") == 0);
    CHECK_FALSE(sub.active());
}

TEST_CASE("scope: filters and dedup work through a scope; a message filter sees the relative "
          "channel and pattern, as the handler does",
          "[scope][subscribe_options]") {
    SafeBroker broker;
    auto dev = broker.scope("dev:");
    std::vector<std::string> seen_by_filter;
    std::vector<std::string> got;
    auto sub = dev.psubscribe(
        "sensor:*",
        [&](const herald::Message<std::string>& m) {
            got.push_back(std::string(m.channel) + "=" + m.payload);
        },
        herald::filter([&](const herald::Message<std::string>& m) {
            seen_by_filter.push_back(std::string(m.pattern) + " " + std::string(m.channel));
            return m.channel != "sensor:noisy";
        }),
        herald::dedup([](const std::string& s) { return s; }, 8));
    CHECK(broker.publish("dev:sensor:a", "1") == 1);
    CHECK(broker.publish("dev:sensor:noisy", "2") == 0);
    CHECK(broker.publish("dev:sensor:b", "1") == 0); // a duplicate payload
    CHECK(got == std::vector<std::string>{"sensor:a=1"});
    CHECK(seen_by_filter == std::vector<std::string>{"sensor:* sensor:a", "sensor:* sensor:noisy",
                                                     "sensor:* sensor:b"});
    CHECK(sub.stats().filtered == 1);
    CHECK(sub.stats().duplicates == 1);

    auto exact = dev.subscribe(
        "x", [](const std::string&) {}, herald::queued{},
        herald::filter([](const std::string& s) { return !s.empty(); }));
    CHECK(dev.publish("x", "") == 0);
    CHECK(dev.publish("x", "y") == 1);
    auto inbox = dev.subscribe("box", herald::queued{.capacity = 4},
                               herald::dedup([](const std::string& s) { return s; }, 4));
    CHECK(dev.publish("box", "a") == 1);
    CHECK(dev.publish("box", "a") == 0);
}
