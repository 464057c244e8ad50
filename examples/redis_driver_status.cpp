// Driver status across processes: the user service, the ride service and the location service
// are three processes that share a typed DriverStatus topic through a Redis server, as JSON.
// Each component talks to its local herald::Broker only; a redis::Bridge carries the topic.
//
//   redis_driver_status <redis-server> <redis-cli>    starts a server and the three services
//   redis_driver_status --role <service> <port>       one service (what the first form runs)
#include "redis_example_support.hpp"

#include <herald/herald.hpp>
#include <herald/redis.hpp>
#include <herald/redis_json.hpp>

#include <fmt/core.h>

#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <thread>

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

inline const herald::Topic<DriverStatus> driver_status_changed{"driver-status-changed"};

using namespace std::chrono_literals;

namespace {

/// The bridge every service attaches to its broker: one distributed topic, in JSON.
herald::redis::Bridge attach(herald::Broker<>& broker, int port) {
    herald::redis::Options options;
    options.port = port;
    options.prefix = "rides:";
    return herald::redis::Bridge(
        broker, options,
        herald::redis::Distribution{}.topic(driver_status_changed,
                                            herald::redis::JsonCodec<DriverStatus>{}));
}

int user_service(int port) {
    herald::Broker broker;
    auto bridge = attach(broker, port);
    for (const auto& [id, available] :
         {std::pair{"driver-42", true}, {"driver-7", true}, {"driver-42", false}}) {
        broker.publish(driver_status_changed, DriverStatus{id, available});
        fmt::print("driver {} is now {}\n", id, available ? "available" : "unavailable");
    }
    return bridge.flush(10s) ? 0 : 1; // everything reached the server
}

int ride_service(int port) {
    herald::Broker broker;
    auto bridge = attach(broker, port);
    std::set<std::string> pool;
    std::atomic<int> events{0};
    auto sub = broker.subscribe(driver_status_changed, [&](const DriverStatus& e) {
        if (e.available) {
            pool.insert(e.driver_id);
        } else {
            pool.erase(e.driver_id);
        }
        fmt::print("{} driver {}: pool size {}\n", e.available ? "add" : "remove", e.driver_id,
                   pool.size());
        std::fflush(stdout);
        ++events;
    });
    if (!bridge.flush(10s)) {
        return 1;
    }
    fmt::print("ready\n");
    std::fflush(stdout);
    for (int i = 0; i < 2000 && events < 3; ++i) {
        std::this_thread::sleep_for(5ms);
    }
    return events == 3 ? 0 : 1;
}

int location_service(int port) {
    herald::Broker broker;
    auto bridge = attach(broker, port);
    std::atomic<int> events{0};
    auto sub = broker.subscribe(driver_status_changed, [&](const herald::Message<DriverStatus>& m) {
        fmt::print("event on '{}': {} tracking driver {}\n", m.channel,
                   m.payload.available ? "start" : "stop", m.payload.driver_id);
        std::fflush(stdout);
        ++events;
    });
    if (!bridge.flush(10s)) {
        return 1;
    }
    fmt::print("ready\n");
    std::fflush(stdout);
    for (int i = 0; i < 2000 && events < 3; ++i) {
        std::this_thread::sleep_for(5ms);
    }
    const auto stats = bridge.stats();
    fmt::print("received {} message(s) through the server, {} upstream subscription(s)\n",
               stats.received, stats.upstream_channels);
    return events == 3 ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
    if (argc == 4 && std::string(argv[1]) == "--role") {
        const std::string role = argv[2];
        const int port = std::stoi(argv[3]);
        if (role == "user-service") {
            return user_service(port);
        }
        if (role == "ride-service") {
            return ride_service(port);
        }
        if (role == "location-service") {
            return location_service(port);
        }
        return 2;
    }
    if (argc != 3) {
        fmt::print(stderr, "usage: {} <redis-server> <redis-cli>\n", argv[0]);
        return 2;
    }
    example::RedisServer server(argv[1], argv[2]);
    const std::string self = "/proc/self/exe";
    const std::string port = std::to_string(server.port());
    fmt::print("redis-server on 127.0.0.1:{}\n", port);
    example::Child rides({self, "--role", "ride-service", port});
    example::Child locations({self, "--role", "location-service", port});
    bool ok = false;
    if (rides.line(ok) != "ready" || locations.line(ok) != "ready") {
        fmt::print("a subscriber did not start\n");
        return 1;
    }
    example::Child users({self, "--role", "user-service", port});
    int failures = 0;
    for (auto [name, child] : {std::pair{"user-service", &users},
                               {"ride-service", &rides},
                               {"location-service", &locations}}) {
        for (std::string line = child->line(ok); ok; line = child->line(ok)) {
            fmt::print("[{}] {}\n", name, line);
        }
        const int status = child->wait();
        fmt::print("[{}] exited with {}\n", name, status);
        failures += status != 0 ? 1 : 0;
    }
    return failures;
}
