// The Redis bridge against a real redis-server. Each "process" is a broker with its own bridge
// (its own two connections), so several in one test binary talk only through the server.

#include "redis_fixture.hpp"
#include "test_catch.hpp"

#include <herald/herald.hpp>
#include <herald/redis.hpp>
#include <herald/redis_json.hpp>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using redis_test::eventually;

namespace {

herald::redis::Options options_for(int port, std::string prefix = "test:") {
    herald::redis::Options o;
    o.port = port;
    o.prefix = std::move(prefix);
    o.backoff.initial = 20ms;
    o.backoff.max = 200ms;
    o.heartbeat_interval = 100ms;
    o.heartbeat_timeout = 500ms;
    return o;
}

/// Messages a handler saw, safe to read from the test thread.
struct Received {
    std::mutex mutex;
    std::vector<std::string> items;
    void add(std::string s) {
        std::lock_guard lock(mutex);
        items.push_back(std::move(s));
    }
    std::size_t size() {
        std::lock_guard lock(mutex);
        return items.size();
    }
    std::vector<std::string> copy() {
        std::lock_guard lock(mutex);
        return items;
    }
};

struct DriverStatus {
    std::string driver_id;
    bool available = false;
};
void to_json(nlohmann::json& j, const DriverStatus& s) {
    j = nlohmann::json{{"driverId", s.driver_id}, {"available", s.available}};
}
void from_json(const nlohmann::json& j, DriverStatus& s) {
    j.at("driverId").get_to(s.driver_id);
    j.at("available").get_to(s.available);
}
const herald::Topic<DriverStatus> driver_status_changed{"driver-status-changed"};

} // namespace

TEST_CASE("redis: arbitrary bytes cross the server unchanged, both ways") {
    redis_test::Server server;
    herald::Broker a;
    herald::Broker b;
    const auto dist = herald::redis::Distribution{}.channel("bytes");
    herald::redis::Bridge bridge_a(a, options_for(server.port()), dist);
    herald::redis::Bridge bridge_b(b, options_for(server.port()), dist);

    Received got;
    auto sub = b.subscribe("bytes", [&](const std::string& s) { got.add(s); });
    REQUIRE(bridge_b.flush(10s));

    std::string big(1 << 20, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) {
        big[i] = static_cast<char>(i * 131 % 256);
    }
    const std::vector<std::string> payloads = {std::string("a\0b", 3), "line\r\nnext\r\n", "",
                                               "\r\n", big};
    for (const auto& p : payloads) {
        CHECK(a.publish("bytes", p) == 0); // served through the server
    }
    REQUIRE(bridge_a.flush(10s));
    REQUIRE(eventually([&] { return got.size() == payloads.size(); }));
    CHECK(got.copy() == payloads);

    // A plain client sees herald's bytes, and its PUBLISH reaches herald's handlers.
    redis_test::Client raw(server.port());
    raw.send({"SUBSCRIBE", "test:bytes"});
    (void)raw.read(); // subscribe confirmation
    CHECK(a.publish("bytes", std::string("x\0y\r\n", 5)) == 0);
    auto m = raw.read();
    REQUIRE(m->type == REDIS_REPLY_ARRAY);
    CHECK(redis_test::text(m->element[2]) == std::string("x\0y\r\n", 5));

    redis_test::Client publisher(server.port());
    CHECK(publisher.integer({"PUBLISH", "test:bytes", std::string("\0\0", 2)}) >= 1);
    REQUIRE(eventually([&] { return got.size() == payloads.size() + 2; }));
    CHECK(got.copy().back() == std::string("\0\0", 2));

    const auto st = bridge_b.stats();
    CHECK(st.connected);
    CHECK(st.upstream_channels == 1);
    CHECK(st.decode_errors == 0);
}

TEST_CASE("redis: publish_async yields the server's PUBLISH count") {
    redis_test::Server server;
    herald::Broker a;
    herald::Broker b;
    const auto dist = herald::redis::Distribution{}.channel("count");
    herald::redis::Bridge bridge_a(a, options_for(server.port()), dist);
    herald::redis::Bridge bridge_b(b, options_for(server.port()), dist);
    auto s1 = b.subscribe("count", [](const std::string&) {});
    auto s2 = b.subscribe("count", [](const std::string&) {});
    REQUIRE(bridge_b.flush(10s));
    auto f = bridge_a.publish_async("count", "hello");
    REQUIRE(f.wait_for(10s) == std::future_status::ready);
    CHECK(f.get() == 1); // one upstream subscription however many local subscribers
    CHECK_THROWS_AS(bridge_a.publish_async("elsewhere", "x"), herald::redis::not_distributed_error);
}

TEST_CASE("redis: upstream subscriptions follow local interest exactly under races") {
    redis_test::Server server;
    redis_test::Client raw(server.port());
    herald::Broker broker;
    const auto dist = herald::redis::Distribution{}
                          .channel("c0")
                          .channel("c1")
                          .channel("c2")
                          .pattern("p:*")
                          .pattern(herald::nats_pattern("n.*.x"));
    herald::redis::Bridge bridge(broker, options_for(server.port()), dist);

    const std::vector<std::string> channels = {"c0", "c1", "c2"};
    std::vector<std::thread> threads;
    std::atomic<bool> go{false};
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            while (!go.load()) {
                std::this_thread::yield();
            }
            std::vector<herald::Subscription> held;
            for (int i = 0; i < 300; ++i) {
                const auto& c = channels[static_cast<std::size_t>(i + t) % channels.size()];
                held.push_back(broker.subscribe(c, [](const std::string&) {}));
                if (i % 3 == 0) {
                    held.push_back(broker.psubscribe("p:*", [](const std::string&) {}));
                }
                if (i % 5 == 0) {
                    held.push_back(broker.psubscribe(herald::nats_pattern("n.*.x"),
                                                     [](const std::string&) {}));
                }
                if (held.size() > 4) {
                    held.erase(held.begin(), held.begin() + static_cast<long>(i % 4));
                }
            }
        });
    }
    go = true;
    for (auto& t : threads) {
        t.join();
    }
    // Nothing left locally: nothing upstream.
    REQUIRE(bridge.flush(10s));
    for (const auto& c : channels) {
        CHECK(raw.numsub("test:" + c) == 0);
    }
    CHECK(raw.numpat() == 0);

    // Many local subscribers: one upstream subscription each.
    std::vector<herald::Subscription> subs;
    for (int i = 0; i < 50; ++i) {
        subs.push_back(broker.subscribe("c1", [](const std::string&) {}));
        subs.push_back(broker.psubscribe("p:*", [](const std::string&) {}));
    }
    subs.push_back(broker.subscribe("not-distributed", [](const std::string&) {}));
    REQUIRE(bridge.flush(10s));
    CHECK(raw.numsub("test:c1") == 1);
    CHECK(raw.numsub("test:c0") == 0);
    CHECK(raw.numsub("test:not-distributed") == 0);
    CHECK(raw.numpat() == 1);
    CHECK(bridge.stats().upstream_channels == 1);
    CHECK(bridge.stats().upstream_patterns == 1);
    subs.clear();
    REQUIRE(bridge.flush(10s));
    CHECK(raw.numsub("test:c1") == 0);
    CHECK(raw.numpat() == 0);
}

TEST_CASE("redis: no double delivery for a channel plus an overlapping pattern, nor of one's own "
          "messages") {
    redis_test::Server server;
    herald::Broker broker;
    herald::redis::Bridge bridge(
        broker, options_for(server.port()),
        herald::redis::Distribution{}.channel("news:sports").pattern("news:*"));
    std::atomic<int> exact{0};
    std::atomic<int> pattern{0};
    auto s1 = broker.subscribe("news:sports", [&](const std::string&) { ++exact; });
    std::atomic<bool> envelope_ok{true};
    auto s2 = broker.psubscribe("news:*", [&](const herald::Message<std::string>& m) {
        if (m.kind != herald::MessageKind::pmessage || m.pattern != "news:*") {
            envelope_ok = false;
        }
        ++pattern;
    });
    REQUIRE(bridge.flush(10s));
    broker.publish("news:sports", "goal");
    broker.publish("news:weather", "rain");
    REQUIRE(bridge.flush(10s));
    REQUIRE(eventually([&] { return exact == 1 && pattern == 2; }));
    std::this_thread::sleep_for(100ms); // a second copy would have arrived by now
    CHECK(exact == 1);
    CHECK(pattern == 2);
    CHECK(envelope_ok);
}

TEST_CASE("redis: two prefixes on one server stay apart, and a prefix is escaped in globs") {
    redis_test::Server server;
    herald::Broker one;
    herald::Broker two;
    herald::Broker odd;
    const auto dist = herald::redis::Distribution{}.channel("chat").pattern("chat*");
    herald::redis::Bridge b1(one, options_for(server.port(), "dev:"), dist);
    herald::redis::Bridge b2(two, options_for(server.port(), "prod:"), dist);
    herald::redis::Bridge b3(odd, options_for(server.port(), "app[1]:"), dist);
    Received r1, r2, r3;
    auto s1 = one.psubscribe("chat*", [&](const std::string& s) { r1.add(s); });
    auto s2 = two.psubscribe("chat*", [&](const std::string& s) { r2.add(s); });
    auto s3 = odd.psubscribe("chat*", [&](const std::string& s) { r3.add(s); });
    REQUIRE(b1.flush(10s));
    REQUIRE(b2.flush(10s));
    REQUIRE(b3.flush(10s));
    one.publish("chat", "for dev");
    two.publish("chat", "for prod");
    redis_test::Client raw(server.port());
    raw.integer({"PUBLISH", "app1:chat", "not for app[1]"}); // the glob app[1]: would match it
    odd.publish("chat", "for app[1]");
    REQUIRE(eventually([&] { return r1.size() == 1 && r2.size() == 1 && r3.size() == 1; }));
    std::this_thread::sleep_for(100ms);
    CHECK(r1.copy() == std::vector<std::string>{"for dev"});
    CHECK(r2.copy() == std::vector<std::string>{"for prod"});
    CHECK(r3.copy() == std::vector<std::string>{"for app[1]"});
}

TEST_CASE("redis: token patterns go upstream as an escaped superset glob and are re-filtered") {
    redis_test::Server server;
    redis_test::Client raw(server.port());
    herald::Broker broker;
    herald::redis::Bridge bridge(broker, options_for(server.port()),
                                 herald::redis::Distribution{}
                                     .pattern(herald::nats_pattern("ev.*.created"))
                                     .pattern(herald::mqtt_pattern("s/+/t[1]/#")));
    Received nats, mqtt;
    auto s1 = broker.psubscribe(herald::nats_pattern("ev.*.created"),
                                [&](const herald::Message<std::string>& m) {
                                    nats.add(std::string(m.channel) + "=" + m.payload);
                                });
    auto s2 = broker.psubscribe(herald::mqtt_pattern("s/+/t[1]/#"),
                                [&](const herald::Message<std::string>& m) {
                                    mqtt.add(std::string(m.channel) + "=" + m.payload);
                                });
    REQUIRE(bridge.flush(10s));
    auto pats = raw.command({"PUBSUB", "NUMPAT"});
    CHECK(pats->integer == 2);
    // The glob ev.*.created also matches ev.a.b.created, which NATS does not: filtered out.
    raw.integer({"PUBLISH", "test:ev.a.b.created", "no"});
    raw.integer({"PUBLISH", "test:ev.a.created", "yes"});
    raw.integer({"PUBLISH", "test:s/x/t1/y", "no"}); // '[1]' is literal in MQTT
    raw.integer({"PUBLISH", "test:s/x/t[1]", "yes"});
    raw.integer({"PUBLISH", "test:s/x/t[1]/a/b", "yes"});
    REQUIRE(eventually([&] { return nats.size() == 1 && mqtt.size() == 2; }));
    std::this_thread::sleep_for(100ms);
    CHECK(nats.copy() == std::vector<std::string>{"ev.a.created=yes"});
    CHECK(mqtt.copy() == std::vector<std::string>{"s/x/t[1]=yes", "s/x/t[1]/a/b=yes"});
}

TEST_CASE("redis: a typed topic crosses as JSON, and a decode failure is reported and skipped") {
    redis_test::Server server;
    herald::BrokerOptions bo;
    bo.dead_letter_channel = "dead";
    herald::Broker a;
    herald::Broker b(bo);
    const auto dist = herald::redis::Distribution{}.topic(driver_status_changed,
                                                          herald::redis::JsonCodec<DriverStatus>{});
    herald::redis::Bridge bridge_a(a, options_for(server.port()), dist);
    herald::redis::Bridge bridge_b(b, options_for(server.port()), dist);
    Received got;
    std::atomic<int> reported{0};
    std::atomic<int> dead{0};
    b.on_error([&](const herald::ErrorInfo& e) {
        if (e.kind == herald::ErrorKind::decode_failure && e.channel == "driver-status-changed" &&
            e.exception != nullptr) {
            ++reported;
        }
    });
    auto d =
        b.subscribe(herald::Topic<herald::DeadLetter>{"dead"}, [&](const herald::DeadLetter& l) {
            if (std::any_cast<std::string>(l.payload) == "{not json") {
                ++dead;
            }
        });
    auto s = b.subscribe(driver_status_changed, [&](const DriverStatus& st) {
        got.add(st.driver_id + (st.available ? ":yes" : ":no"));
    });
    REQUIRE(bridge_b.flush(10s));
    redis_test::Client raw(server.port());
    raw.integer({"PUBLISH", "test:driver-status-changed", "{not json"});
    a.publish(driver_status_changed, DriverStatus{"abc", true});
    REQUIRE(bridge_a.flush(10s)); // ordered before the next raw PUBLISH
    raw.integer({"PUBLISH", "test:driver-status-changed", R"({"driverId":"k","available":false})"});
    REQUIRE(eventually([&] { return got.size() == 2; }));
    CHECK(got.copy() == std::vector<std::string>{"abc:yes", "k:no"});
    CHECK(reported == 1);
    CHECK(dead == 1);
    CHECK(bridge_b.stats().decode_errors == 1);
}

TEST_CASE("redis: a publish of a payload type without codec throws naming the problem") {
    redis_test::Server server;
    herald::Broker broker;
    const herald::Topic<int> numbers{"numbers"};
    herald::redis::Bridge bridge(broker, options_for(server.port()),
                                 herald::redis::Distribution{}.pattern("num*"));
    CHECK_THROWS_AS(broker.publish(numbers, 5), herald::redis::codec_error);
    CHECK(bridge.stats().codec_errors == 1);
    CHECK_THROWS_AS(
        herald::redis::Bridge(broker, options_for(server.port()), herald::redis::Distribution{}),
        std::logic_error); // one bridge per broker
    auto bad = options_for(server.port());
    bad.outbox_capacity = 0;
    herald::Broker other;
    CHECK_THROWS_AS(herald::redis::Bridge(other, bad, herald::redis::Distribution{}),
                    herald::redis::options_error);
}

namespace {

herald::redis::Options tagged_options(int port) {
    auto o = options_for(port);
    o.wire_format = herald::redis::WireFormat::tagged;
    return o;
}

} // namespace

TEST_CASE("redis tagged: local subscribers are served at once, the echo is dropped, others get "
          "one copy") {
    redis_test::Server server;
    herald::Broker a;
    herald::Broker b;
    const auto dist = herald::redis::Distribution{}.channel("t").pattern("t*");
    herald::redis::Bridge bridge_a(a, tagged_options(server.port()), dist);
    herald::redis::Bridge bridge_b(b, tagged_options(server.port()), dist);
    std::atomic<int> a_exact{0}, a_pattern{0}, b_exact{0};
    auto s1 = a.subscribe("t", [&](const std::string& v) { a_exact += v == "x" ? 1 : 100; });
    auto s2 = a.psubscribe("t*", [&](const std::string& v) { a_pattern += v == "x" ? 1 : 100; });
    auto s3 = b.subscribe("t", [&](const std::string& v) { b_exact += v == "x" ? 1 : 100; });
    REQUIRE(bridge_a.flush(10s));
    REQUIRE(bridge_b.flush(10s));
    CHECK(a.publish("t", "x") == 2); // delivered locally before publish returns
    CHECK(a_exact == 1);
    CHECK(a_pattern == 1);
    REQUIRE(bridge_a.flush(10s));
    REQUIRE(eventually([&] { return b_exact == 1 && bridge_a.stats().echoes_dropped == 2; }));
    std::this_thread::sleep_for(100ms);
    CHECK(a_exact == 1);
    CHECK(a_pattern == 1);
    CHECK(b_exact == 1);
    CHECK(bridge_b.stats().sequence_gaps == 0);
}

TEST_CASE("redis tagged: other clients' plain messages still arrive; gaps per origin are "
          "counted") {
    redis_test::Server server;
    herald::Broker broker;
    herald::redis::Bridge bridge(broker, tagged_options(server.port()),
                                 herald::redis::Distribution{}.channel("g"));
    Received got;
    auto s = broker.subscribe("g", [&](const std::string& v) { got.add(v); });
    REQUIRE(bridge.flush(10s));
    redis_test::Client raw(server.port());
    raw.integer({"PUBLISH", "test:g", "plain"});
    using herald::detail::redis::tag_header;
    const std::uint64_t origin = 0x1234567890abcdefULL;
    for (const std::uint64_t sequence : {1u, 2u, 5u, 6u}) {
        raw.integer(
            {"PUBLISH", "test:g", tag_header(origin, sequence) + "m" + std::to_string(sequence)});
    }
    REQUIRE(eventually([&] { return got.size() == 5; }));
    CHECK(got.copy() == std::vector<std::string>{"plain", "m1", "m2", "m5", "m6"});
    const auto st = bridge.stats();
    CHECK(st.sequence_gaps == 2);
    CHECK(st.untagged_received == 1);
    CHECK(st.echoes_dropped == 0);
}

TEST_CASE("redis tagged: local delivery does not wait for the server") {
    redis_test::Server server;
    herald::Broker broker;
    herald::redis::Bridge bridge(broker, tagged_options(server.port()),
                                 herald::redis::Distribution{}.channel("d"));
    std::atomic<int> got{0};
    auto s = broker.subscribe("d", [&](const std::string&) { ++got; });
    REQUIRE(bridge.flush(10s));
    server.kill();
    REQUIRE(eventually([&] { return !bridge.stats().connected; }));
    CHECK(broker.publish("d", "while down") == 1);
    CHECK(got == 1);
    CHECK(bridge.stats().outbox_depth == 1); // sent after the reconnect
}
