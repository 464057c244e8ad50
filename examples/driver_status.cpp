// Driver status: a user service toggles a driver's availability and publishes the change on a
// typed topic; a ride service and a location service react, without knowing about each other
// or about the publisher. One process, three components, no server.
#include <herald/herald.hpp>

#include <fmt/chrono.h>
#include <fmt/core.h>

#include <chrono>
#include <map>
#include <set>
#include <string>

struct DriverStatus {
    std::string driver_id;
    bool available = false;
    std::chrono::system_clock::time_point timestamp;
};

// The channel and its payload type, shared by every component.
inline const herald::Topic<DriverStatus> driver_status_changed{"driver-status-changed"};

/// Owns the drivers' availability and announces every change.
class UserService {
public:
    explicit UserService(herald::Broker<>& broker)
        : publish_(broker.publisher(driver_status_changed)) {}

    void toggle_availability(const std::string& driver_id) {
        const bool available = !available_[driver_id];
        available_[driver_id] = available;
        const auto receivers = publish_({driver_id, available, std::chrono::system_clock::now()});
        fmt::print("[user-service] driver {} is now {} (event received by {} service(s))\n",
                   driver_id, available ? "available" : "unavailable", receivers);
    }

private:
    herald::Broker<>::Publisher<DriverStatus> publish_;
    std::map<std::string, bool> available_; // stands in for the database's is_available
};

/// Keeps the pool of drivers that rides can be matched with.
class RideService {
public:
    explicit RideService(herald::Broker<>& broker) {
        subscriptions_ += broker.subscribe(driver_status_changed, [this](const DriverStatus& e) {
            if (e.available) {
                pool_.insert(e.driver_id);
                fmt::print("[ride-service] add driver {} to the matching pool (pool size {})\n",
                           e.driver_id, pool_.size());
            } else {
                pool_.erase(e.driver_id);
                fmt::print(
                    "[ride-service] remove driver {} from the matching pool (pool size {})\n",
                    e.driver_id, pool_.size());
            }
        });
    }

private:
    std::set<std::string> pool_;
    herald::SubscriptionGroup subscriptions_;
};

/// Tracks the location of available drivers; it wants the envelope, for the sequence number.
class LocationService {
public:
    explicit LocationService(herald::Broker<>& broker) {
        subscriptions_ +=
            broker.subscribe(driver_status_changed, [](const herald::Message<DriverStatus>& m) {
                const auto at =
                    std::chrono::time_point_cast<std::chrono::seconds>(m.payload.timestamp);
                fmt::print("[location-service] event #{} on '{}': {} tracking driver {} "
                           "(changed at {:%H:%M:%S})\n",
                           m.sequence, m.channel, m.payload.available ? "start" : "stop",
                           m.payload.driver_id, at);
            });
    }

private:
    herald::SubscriptionGroup subscriptions_;
};

int main() {
    herald::Broker broker;
    UserService users(broker);

    fmt::print("-- nobody listens yet: the event is gone (at-most-once)\n");
    users.toggle_availability("driver-7");

    fmt::print("-- ride-service and location-service start\n");
    RideService rides(broker);
    {
        LocationService locations(broker);
        users.toggle_availability("driver-42");
        users.toggle_availability("driver-7");
        users.toggle_availability("driver-42");
        fmt::print("-- location-service stops\n");
    }
    users.toggle_availability("driver-7");

    const auto stats = broker.stats();
    fmt::print("subscribers on '{}': {}, events dispatched: {}\n", driver_status_changed.name(),
               broker.numsub(driver_status_changed.name()), stats.dispatched);
}
