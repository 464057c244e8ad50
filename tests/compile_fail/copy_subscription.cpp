// A Subscription is move-only: copying one must not compile.
#include <herald/herald.hpp>

#include <string>
#include <utility>

herald::Subscription keep(herald::Broker<>& broker) {
    herald::Subscription original = broker.subscribe("chat", [](const std::string&) {});
#if HERALD_EXPECT_ERROR
    herald::Subscription copy = original;
#else
    herald::Subscription copy = std::move(original);
#endif
    return copy;
}
