// The README's first example, compiled and checked like every example.
#include <fmt/core.h>
#include <herald/herald.hpp>

// Kept on one line, as the README shows it.
// clang-format off
struct DriverStatus { std::string driver_id; bool available; };
// clang-format on
inline const herald::Topic<DriverStatus> driver_status_changed{"driver-status-changed"};

int main() {
    herald::Broker broker;
    auto rides = broker.subscribe(driver_status_changed, [](const DriverStatus& e) {
        fmt::print("ride-service: {} {}\n", e.driver_id, e.available ? "joins" : "leaves");
    });
    auto alerts = broker.psubscribe("alerts:*", [](const herald::Message<std::string>& m) {
        fmt::print("{} via {}: {}\n", m.channel, m.pattern, m.payload);
    });
    broker.publish(driver_status_changed, {"abc", true});
    std::size_t receivers = broker.publish("alerts:cpu_load", "85%");
    fmt::print("received by {}\n", receivers);
}
