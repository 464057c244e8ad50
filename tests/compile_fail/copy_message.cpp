// Copying a Message<T> (a view valid during its handler) into a container must not compile: it
// would outlive the payload and channel it refers to.
#include <herald/herald.hpp>

#include <string>
#include <vector>

std::vector<std::string> keep(herald::Broker<>& broker) {
    std::vector<std::string> payloads;
#if HERALD_EXPECT_ERROR
    static std::vector<herald::Message<std::string>> kept;
    auto s =
        broker.subscribe("c", [&](const herald::Message<std::string>& m) { kept.push_back(m); });
#else
    auto s = broker.subscribe(
        "c", [&](const herald::Message<std::string>& m) { payloads.push_back(m.payload); });
#endif
    broker.publish("c", "x");
    return payloads;
}
