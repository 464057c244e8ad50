// Positive control of the compile-fail suite: the correct forms of every failing case, in one
// translation unit built the same way, so a failure above is the defect and not the harness.
#include <herald/herald.hpp>

#include <string>
#include <utility>

namespace {

struct DriverStatus {
    std::string driver_id;
    bool available = false;
};

inline const herald::Topic<DriverStatus> driver_status_changed{"driver-status-changed"};

} // namespace

std::size_t use_herald_correctly(herald::Broker<>& broker) {
    auto by_payload = broker.subscribe(driver_status_changed, [](const DriverStatus&) {});
    auto by_envelope =
        broker.subscribe("chat", [](const herald::Message<std::string>& m) { (void)m.channel; });
    herald::Subscription moved = std::move(by_envelope);
    return broker.publish(driver_status_changed, DriverStatus{"abc", true}) +
           broker.publish("chat", "hello") + (moved.active() ? 1U : 0U) +
           (by_payload.active() ? 1U : 0U);
}
