// Dropping the handle that subscribe returns ends the subscription at once, so discarding it
// is almost always a bug: the compiler says so, with the reason.
#include <herald/herald.hpp>

#include <string>

void subscribe_for_a_while(herald::Broker<>& broker) {
#if HERALD_EXPECT_ERROR
    broker.subscribe("c", [](const std::string&) {});
#else
    auto kept = broker.subscribe("c", [](const std::string&) {});
#endif
}
