// The Valkey notifications lab against a real server: herald subscribes to two channels and a
// pattern and receives what redis-cli PUBLISHes; then a redis-cli SUBSCRIBE receives what
// herald publishes, byte for byte. No prefix, so any Redis client interoperates directly.
//
//   redis_notifications <redis-server> <redis-cli>
#include "redis_example_support.hpp"

#include <herald/herald.hpp>
#include <herald/redis.hpp>

#include <fmt/core.h>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

int main(int argc, char** argv) {
    if (argc != 3) {
        fmt::print(stderr, "usage: {} <redis-server> <redis-cli>\n", argv[0]);
        return 2;
    }
    const std::string cli = argv[2];
    example::RedisServer server(argv[1], cli);
    const std::string port = std::to_string(server.port());

    herald::Broker broker;
    herald::redis::Options options;
    options.port = server.port();
    herald::redis::Bridge bridge(broker, options,
                                 herald::redis::Distribution{}
                                     .channel("system_notifications")
                                     .channel("chat:general")
                                     .pattern("alerts:*")
                                     .channel("announcements"));

    // The lab's subscriber, on the local broker.
    std::mutex mutex;
    std::vector<std::string> received;
    herald::SubscriptionGroup subscriptions;
    for (const char* channel : {"system_notifications", "chat:general"}) {
        subscriptions += broker.subscribe(channel, [&](const herald::Message<std::string>& m) {
            std::lock_guard lock(mutex);
            received.push_back(
                fmt::format("--> DIRECT MESSAGE: [Channel: {}] Data: '{}'", m.channel, m.payload));
        });
    }
    subscriptions += broker.psubscribe("alerts:*", [&](const herald::Message<std::string>& m) {
        std::lock_guard lock(mutex);
        received.push_back(
            fmt::format("--> PATTERN MESSAGE: [Pattern: {}] [Channel: {}] Data: '{}'", m.pattern,
                        m.channel, m.payload));
    });
    if (!bridge.flush(10s)) {
        fmt::print("the bridge did not connect\n");
        return 1;
    }
    fmt::print("herald subscribed upstream: {} channel(s), {} pattern(s)\n",
               bridge.stats().upstream_channels, bridge.stats().upstream_patterns);

    // Another client publishes, in order.
    const std::vector<std::pair<std::string, std::string>> messages = {
        {"system_notifications", "Server maintenance scheduled for 2 AM."},
        {"chat:general", "Hello everyone!"},
        {"alerts:cpu_load", "CPU load at 85%"},
        {"alerts:memory_usage", "Memory usage at 92%"},
        {"chat:random", "nobody listens here"},
    };
    for (const auto& [channel, data] : messages) {
        example::Child publish({cli, "-p", port, "PUBLISH", channel, data});
        bool ok = false;
        const std::string count = publish.line(ok);
        publish.wait();
        fmt::print("redis-cli PUBLISH {} '{}' -> {}\n", channel, data, count);
    }
    for (int i = 0; i < 2000; ++i) {
        {
            std::lock_guard lock(mutex);
            if (received.size() == 4) {
                break;
            }
        }
        std::this_thread::sleep_for(5ms);
    }
    {
        std::lock_guard lock(mutex);
        for (const auto& line : received) {
            fmt::print("{}\n", line);
        }
    }

    // The other direction: redis-cli subscribes, herald publishes.
    example::Child subscriber({cli, "-p", port, "SUBSCRIBE", "announcements"});
    bool ok = false;
    for (int i = 0; i < 3; ++i) { // "subscribe", "announcements", "1"
        subscriber.line(ok);
    }
    const std::string announcement = "Deploy v2.1 \"done\" \xE2\x9C\x93 at 14:00";
    broker.publish("announcements", announcement);
    std::string lines[3];
    for (auto& line : lines) {
        line = subscriber.line(ok);
    }
    fmt::print("redis-cli SUBSCRIBE received: {} / {} / '{}' (byte for byte: {})\n", lines[0],
               lines[1], lines[2], lines[2] == announcement ? "yes" : "NO");
    bridge.flush(10s); // the server's reply to the PUBLISH may still be on its way
    const auto stats = bridge.stats();
    fmt::print("bridge: sent {}, received {}, dropped {}\n", stats.sent, stats.received,
               stats.dropped_overflow + stats.dropped_in_flight + stats.dropped_unrouted);
    return lines[2] == announcement ? 0 : 1;
}
