// A filter whose predicate does not take the subscription's payload (or its Message) must not
// compile, and the error must say what the predicate must take.
#include <herald/herald.hpp>

#include <string>

struct Order {
    int total = 0;
};

herald::Subscription large_orders(herald::Broker<>& broker) {
    const herald::Topic<Order> orders("orders");
#if HERALD_EXPECT_ERROR
    return broker.subscribe(
        orders, [](const Order&) {},
        herald::filter([](const std::string& s) { return s.empty(); }));
#else
    return broker.subscribe(
        orders, [](const Order&) {}, herald::filter([](const Order& o) { return o.total > 100; }));
#endif
}
