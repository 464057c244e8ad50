// A shared counter (the PyView demo: three app instances behind a load balancer): every
// instance shows the same count, and an increment in any instance shows in all of them. The
// Counter component only knows its herald::Broker; first it runs on a plain in-process broker
// (as its unit test would), then as three processes whose brokers a Redis server connects.
//
//   redis_counter <redis-server> <redis-cli>      both parts
//   redis_counter --instance <n> <port>           one instance of the second part
#include "redis_example_support.hpp"

#include <herald/herald.hpp>
#include <herald/redis.hpp>

#include <fmt/core.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

using namespace std::chrono_literals;

/// The component: increments are events on "counter:increments"; every instance applies every
/// increment, so all show the same value.
class Counter {
public:
    explicit Counter(herald::Broker<>& broker)
        : broker_(broker),
          subscription_(broker.subscribe(
              "counter:increments", [this](const std::string& by) { value_ += std::stoi(by); })) {}

    void increment(int by = 1) { broker_.publish("counter:increments", std::to_string(by)); }
    int value() const noexcept { return value_.load(); }

private:
    herald::Broker<>& broker_;
    std::atomic<int> value_{0};
    herald::Subscription subscription_;
};

namespace {

bool wait_for(const Counter& counter, int value) {
    for (int i = 0; i < 2000 && counter.value() != value; ++i) {
        std::this_thread::sleep_for(5ms);
    }
    return counter.value() == value;
}

int instance(int n, int port) {
    herald::Broker broker;
    herald::redis::Options options;
    options.port = port;
    options.prefix = "pyview:";
    herald::redis::Bridge bridge(
        broker, options,
        herald::redis::Distribution{}.channel("counter:increments").channel("counter:start"));
    Counter counter(broker);
    std::atomic<bool> started{false};
    auto start = broker.subscribe("counter:start", [&](const std::string&) { started = true; });
    if (!bridge.flush(10s)) {
        return 1;
    }
    fmt::print("ready\n");
    std::fflush(stdout);
    // Messages are at most once: nobody increments before every instance listens.
    for (int i = 0; i < 2000 && !started; ++i) {
        std::this_thread::sleep_for(5ms);
    }
    // Instance n increments by n once the one before it has (the order keeps the output
    // deterministic; the counter itself does not need it).
    if (!wait_for(counter, (n - 1) * n / 2)) {
        return 1;
    }
    counter.increment(n);
    fmt::print("instance {} incremented by {}\n", n, n);
    std::fflush(stdout);
    if (!wait_for(counter, 6)) {
        return 1;
    }
    fmt::print("instance {} shows {}\n", n, counter.value());
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    if (argc == 4 && std::string(argv[1]) == "--instance") {
        return instance(std::stoi(argv[2]), std::stoi(argv[3]));
    }
    if (argc != 3) {
        fmt::print(stderr, "usage: {} <redis-server> <redis-cli>\n", argv[0]);
        return 2;
    }
    {
        // The component on a plain broker: three instances in one process, no server.
        herald::Broker broker;
        Counter a(broker), b(broker), c(broker);
        a.increment();
        b.increment(2);
        c.increment(3);
        fmt::print("in-process: {} {} {}\n", a.value(), b.value(), c.value());
    }
    example::RedisServer server(argv[1], argv[2]);
    const std::string port = std::to_string(server.port());
    const std::string self = "/proc/self/exe";
    example::Child one({self, "--instance", "1", port});
    example::Child two({self, "--instance", "2", port});
    example::Child three({self, "--instance", "3", port});
    for (example::Child* child : {&one, &two, &three}) {
        bool ok = false;
        if (child->line(ok) != "ready") {
            fmt::print("an instance did not start\n");
            return 1;
        }
    }
    // Every instance listens: start them, from redis-cli (any Redis client would do).
    example::Child go({argv[2], "-p", port, "PUBLISH", "pyview:counter:start", "go"});
    go.wait();
    int failures = 0;
    int n = 1;
    for (example::Child* child : {&one, &two, &three}) {
        bool ok = false;
        for (std::string line = child->line(ok); ok; line = child->line(ok)) {
            fmt::print("[instance {}] {}\n", n, line);
        }
        failures += child->wait() != 0 ? 1 : 0;
        ++n;
    }
    fmt::print("{} instance(s) failed\n", failures);
    return failures;
}
