// Regression: chained topics torn down from inside a handler.
//
// Source: sigslot #35 (https://github.com/palacaze/sigslot/issues/35): signals connected in a
// chain (A's slot emits B, B's slot emits C), and a slot at the end of the chain disconnects the
// whole chain while every emission is still on the stack; the outer emissions then continue over
// freed connections. In herald each dispatch iterates an immutable snapshot kept alive by the
// reclamation scheme, ended subscriptions are skipped, and handlers are destroyed only after the
// dispatches that could reach them. Run under ASan.
#include <herald/herald.hpp>

#include "test_catch.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace {

using SafeBroker = herald::Broker<std::string, herald::thread_safe>;
using SingleBroker = herald::Broker<std::string, herald::single_threaded>;

/// Counts live instances: a handler capturing one shows when the handler was destroyed.
struct Alive {
    explicit Alive(int& c) : count(&c) { ++*count; }
    Alive(const Alive& other) : count(other.count) { ++*count; }
    Alive& operator=(const Alive&) = delete;
    ~Alive() { --*count; }
    int* count;
};

} // namespace

TEMPLATE_TEST_CASE("regression: a handler at the end of a chain of topics tears the whole chain "
                   "down while every dispatch of it is on the stack (sigslot #35)",
                   "[regression]", SafeBroker, SingleBroker) {
    TestType broker;
    std::vector<std::string> log;
    int alive = 0;
    auto chain = std::make_unique<herald::SubscriptionGroup>();
    // Two subscribers per link, so every outer dispatch still has one to visit after the
    // teardown: those must be skipped, not called and not read after being freed.
    for (const char* link : {"a", "b"}) {
        const std::string from = link;
        const std::string to = from == "a" ? "b" : "c";
        *chain += broker.subscribe(from, [&, to, guard = Alive(alive)](const std::string& m) {
            log.push_back("forward " + m + " to " + to);
            const std::size_t receivers = broker.publish(to, m);
            log.push_back("forwarded to " + to + ": " + std::to_string(receivers) + " received, " +
                          std::to_string(*guard.count) + " handlers alive");
        });
        *chain += broker.subscribe(from, [&, from, guard = Alive(alive)](const std::string& m) {
            log.push_back("late " + from + ":" + m);
        });
    }
    *chain += broker.subscribe("c", [&, guard = Alive(alive)](const std::string& m) {
        log.push_back("end:" + m);
        if (m == "teardown") {
            chain.reset(); // every subscription of the chain, this one included
            log.push_back("chain gone");
        }
    });
    *chain += broker.subscribe(
        "c", [&, guard = Alive(alive)](const std::string& m) { log.push_back("late c:" + m); });
    CHECK(alive == 6);

    CHECK(broker.publish("a", "teardown") == 1); // the late "a" subscriber was ended first
    // Inner dispatches first; the second subscriber of each link was ended before its turn.
    CHECK(log == std::vector<std::string>{"forward teardown to b", "forward teardown to c",
                                          "end:teardown", "chain gone",
                                          "forwarded to c: 1 received, 6 handlers alive",
                                          "forwarded to b: 1 received, 6 handlers alive"});
    CHECK(broker.numsub("a") == 0);
    CHECK(broker.numsub("b") == 0);
    CHECK(broker.numsub("c") == 0);
    CHECK(broker.publish("a", "again") == 0);
    broker.shutdown();
    CHECK(alive == 0); // every handler was destroyed, each once
}

TEMPLATE_TEST_CASE("regression: a chain rebuilt from inside the handler that tore it down "
                   "works at once for the next publish (sigslot #35)",
                   "[regression]", SafeBroker, SingleBroker) {
    TestType broker;
    std::vector<std::string> log;
    herald::SubscriptionGroup chain;
    std::function<void()> build = [&] {
        chain += broker.subscribe("a", [&](const std::string& m) {
            log.push_back("a:" + m);
            broker.publish("b", m);
        });
        chain += broker.subscribe("b", [&](const std::string& m) {
            log.push_back("b:" + m);
            chain.unsubscribe_all(); // the group empties; handles of this dispatch end
            build();                 // new subscriptions: they miss the message in flight
        });
    };
    build();
    for (int round = 0; round < 100; ++round) {
        CHECK(broker.publish("a", std::to_string(round)) == 1);
    }
    REQUIRE(log.size() == 200);
    CHECK(log[0] == "a:0");
    CHECK(log[1] == "b:0");
    CHECK(log[198] == "a:99");
    CHECK(log[199] == "b:99");
    CHECK(broker.numsub("a") == 1);
    CHECK(broker.numsub("b") == 1);
}
