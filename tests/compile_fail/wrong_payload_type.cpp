// Publishing an int to a Topic<DriverStatus> must not compile, and the error must name
// herald's own sentence (the static_assert of the catch-all publish overload).
#include <herald/herald.hpp>

#include <string>

struct DriverStatus {
    std::string driver_id;
    bool available = false;
};

std::size_t publish_status(herald::Broker<>& broker) {
#if HERALD_EXPECT_ERROR
    return broker.publish(herald::Topic<DriverStatus>{"x"}, 42);
#else
    return broker.publish(herald::Topic<DriverStatus>{"x"}, DriverStatus{"abc", true});
#endif
}
