// Regression: a captured object whose destructor unsubscribes itself and others while a dispatch
// is running.
//
// Source: Boost.Signals2 #36 (https://github.com/boostorg/signals2/issues/36): a slot's bound
// object is destroyed during emission, its destructor disconnects connections of the same signal
// (its own among them), and the emission loop then touches freed slots. In herald a handler and
// what it captured are destroyed only once no dispatch can reach them, and a subscription ended
// during a dispatch is skipped for the rest of it. Run under ASan to catch a use after free.
#include <herald/herald.hpp>

#include "test_catch.hpp"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

namespace {

using SafeBroker = herald::Broker<std::string, herald::thread_safe>;
using SingleBroker = herald::Broker<std::string, herald::single_threaded>;

/// Owns subscriptions and ends them all when destroyed, like a UI widget or a session object.
struct Session {
    std::vector<herald::Subscription> subscriptions;
    std::vector<std::string>* log = nullptr;
    ~Session() {
        log->push_back("~Session");
        for (auto& s : subscriptions) {
            s.unsubscribe();
        }
    }
};

/// Marks its own destruction: captured by a handler, it shows when the handler was destroyed.
struct Tracker {
    explicit Tracker(std::vector<std::string>& l, std::string n) : log(&l), name(std::move(n)) {}
    Tracker(const Tracker&) = delete;
    Tracker& operator=(const Tracker&) = delete;
    ~Tracker() { log->push_back("~" + name); }
    std::vector<std::string>* log;
    std::string name;
};

/// The log without the handlers' destructions, whose moment (once no dispatch can reach them)
/// differs between the policies; `position` finds an entry in the full log.
std::vector<std::string> without_handler_ends(const std::vector<std::string>& log) {
    std::vector<std::string> out;
    for (const auto& entry : log) {
        if (entry.rfind("~", 0) != 0 || entry == "~Session") {
            out.push_back(entry);
        }
    }
    return out;
}

std::ptrdiff_t position(const std::vector<std::string>& log, const std::string& entry) {
    return std::find(log.begin(), log.end(), entry) - log.begin();
}

} // namespace

TEMPLATE_TEST_CASE("regression: destroying, inside a handler, an object whose destructor ends "
                   "its own and later subscriptions skips them safely (Boost.Signals2 #36)",
                   "[regression]", SafeBroker, SingleBroker) {
    TestType broker;
    std::vector<std::string> log;
    auto session = std::make_unique<Session>();
    session->log = &log;
    // The first subscription (owned by the session) destroys the session from its own handler:
    // the session's destructor ends this very subscription and the two after it.
    session->subscriptions.push_back(broker.subscribe(
        "t", [&, tracker = std::make_shared<Tracker>(log, "first-handler")](const std::string& m) {
            log.push_back("first:" + m);
            if (m == "teardown") {
                session.reset();
                // Still running: what this handler captured must be intact.
                log.push_back("first still running, captured " + tracker->name);
            }
        }));
    session->subscriptions.push_back(
        broker.subscribe("t", [&, tracker = std::make_shared<Tracker>(log, "second-handler")](
                                  const std::string& m) { log.push_back("second:" + m); }));
    session->subscriptions.push_back(
        broker.subscribe("t", [&](const std::string& m) { log.push_back("third:" + m); }));
    auto outsider = broker.subscribe("t", [&](const std::string& m) { log.push_back("out:" + m); });

    CHECK(broker.publish("t", "hello") == 4);
    log.clear();
    CHECK(broker.publish("t", "teardown") == 2); // the first handler and the outsider
    broker.publish("t", "after");
    // Handlers are destroyed once no dispatch can reach them; force that point.
    outsider.unsubscribe();
    broker.shutdown();

    CHECK(without_handler_ends(log) ==
          std::vector<std::string>{"first:teardown", "~Session",
                                   "first still running, captured first-handler", "out:teardown",
                                   "out:after"});
    // Both handlers (and their captures) were destroyed exactly once, after the dispatch that
    // ended them.
    CHECK(std::count(log.begin(), log.end(), "~first-handler") == 1);
    CHECK(std::count(log.begin(), log.end(), "~second-handler") == 1);
    CHECK(position(log, "~first-handler") > position(log, "out:teardown"));
    CHECK(position(log, "~second-handler") > position(log, "out:teardown"));
}

TEMPLATE_TEST_CASE("regression: a handler that owns the object whose destructor ends it and "
                   "another subscription is destroyed only after its dispatch "
                   "(Boost.Signals2 #36)",
                   "[regression]", SafeBroker, SingleBroker) {
    TestType broker;
    std::vector<std::string> log;
    herald::Subscription victim =
        broker.subscribe("t", [&](const std::string& m) { log.push_back("victim:" + m); });
    {
        // The handler holds the only reference to the session, and the session holds the
        // handler's own subscription: a cycle that the handler breaks by ending itself.
        auto session = std::make_shared<Session>();
        session->log = &log;
        std::weak_ptr<Session> weak = session;
        auto self = broker.subscribe("t", [&, session](const std::string& m) {
            log.push_back("owner:" + m);
            if (m == "quit") {
                // Ends its own subscription: the handler is not destroyed while it runs, so
                // `session` stays valid to the end of this call.
                session->subscriptions.front().unsubscribe();
                log.push_back("owner still holds " + std::to_string(session->subscriptions.size()) +
                              " handles");
            }
        });
        REQUIRE(weak.lock() != nullptr);
        weak.lock()->subscriptions.push_back(std::move(self));
        weak.lock()->subscriptions.push_back(std::move(victim)); // the session now ends it too
    } // only the handler keeps the session alive now

    // The victim was subscribed first and runs before the owner on this publish.
    CHECK(broker.publish("t", "quit") == 2);
    // The owner is gone. Destroying its handler (once no dispatch can reach it: at once for a
    // single_threaded broker, at the next reclamation for a thread_safe one) destroys the
    // session, which ends the victim.
    CHECK(broker.publish("t", "later") <= 1);
    broker.shutdown();
    CHECK(std::count(log.begin(), log.end(), "~Session") == 1);
    CHECK(std::count(log.begin(), log.end(), "owner:quit") == 1);
    CHECK(std::count(log.begin(), log.end(), "owner:later") == 0);
    REQUIRE(log.size() >= 3);
    CHECK(std::vector<std::string>(log.begin(), log.begin() + 3) ==
          std::vector<std::string>{"victim:quit", "owner:quit", "owner still holds 2 handles"});
    // The session ended after the handler that owned it returned, and nothing reached the victim
    // after that.
    const std::ptrdiff_t end = position(log, "~Session");
    CHECK(end > position(log, "owner still holds 2 handles"));
    for (std::size_t i = static_cast<std::size_t>(end); i < log.size(); ++i) {
        CHECK(log[i].rfind("victim:", 0) != 0);
    }
}
