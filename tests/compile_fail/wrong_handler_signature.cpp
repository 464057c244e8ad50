// A handler that cannot take the channel's payload must not compile, and the error must name
// herald's Handler concept.
#include <herald/herald.hpp>

#include <string>

herald::Subscription subscribe_chat(herald::Broker<>& broker) {
#if HERALD_EXPECT_ERROR
    return broker.subscribe("chat", [](int first, int second) { return first + second; });
#else
    return broker.subscribe("chat", [](const std::string& text) { return text.size(); });
#endif
}
