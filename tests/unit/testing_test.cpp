// Unit tests of <herald/testing.hpp> and <herald/testing_catch2.hpp>: the recording test double.
#include <herald/testing.hpp>

#include <herald/executor.hpp>

#include "test_catch.hpp"

#ifndef HERALD_CATCH3
#include <herald/testing_catch2.hpp>
#endif

#include <stdexcept>
#include <string>
#include <vector>

using herald::testing::RecordingBroker;
using herald::testing::SubscriptionKind;

TEST_CASE("testing: a subscription is recorded with its owner, name and kind", "[testing]") {
    RecordingBroker<> pubsub;
    pubsub.subscribe("session_123", "updates", [](const std::string&) {});
    pubsub.psubscribe("session_123", herald::mqtt_pattern("rooms/+/chat"),
                      [](const std::string&) {});
    CHECK(pubsub.subscriptions().contains("session_123", "updates"));
    CHECK(pubsub.subscriptions().contains("session_123", "rooms/+/chat"));
    CHECK_FALSE(pubsub.subscriptions().contains("session_456", "updates"));
    const auto subs = pubsub.subscriptions();
    REQUIRE(subs.size() == 2);
    CHECK(subs.at(0).kind == SubscriptionKind::channel);
    CHECK_FALSE(subs.at(0).queued);
    CHECK(subs.at(1).kind == SubscriptionKind::pattern);
    CHECK(subs.at(1).grammar == herald::PatternKind::mqtt);
    CHECK(subs.at(0).sequence < subs.at(1).sequence);
    CHECK(pubsub.broker().numsub("updates") == 1);
}

TEST_CASE("testing: a publish is recorded with a copy of the payload and its receiver count",
          "[testing]") {
    RecordingBroker<> pubsub;
    std::vector<std::string> got;
    pubsub.subscribe("session_123", "updates", [&](const std::string& p) { got.push_back(p); });
    CHECK(pubsub.publish("updates", R"({"action":"joined"})") == 1);
    CHECK(pubsub.publish("nobody", "lost") == 0);
    CHECK(pubsub.published().contains("updates", R"({"action":"joined"})"));
    CHECK(pubsub.published().contains("nobody"));
    CHECK_FALSE(pubsub.published().contains("updates", "something else"));
    REQUIRE(pubsub.published().size() == 2);
    CHECK(pubsub.published().at(0).receivers == 1);
    CHECK(pubsub.published().at(1).receivers == 0);
    CHECK(got == std::vector<std::string>{R"({"action":"joined"})"});
}

TEST_CASE("testing: unsubscribing one name or a whole owner ends and records them", "[testing]") {
    RecordingBroker<> pubsub;
    pubsub.subscribe("s1", "updates", [](const std::string&) {});
    pubsub.subscribe("s1", "chat", [](const std::string&) {});
    pubsub.subscribe("s2", "updates", [](const std::string&) {});
    CHECK(pubsub.unsubscribe("s1", "updates") == 1);
    CHECK(pubsub.unsubscribe("s1", "updates") == 0);
    CHECK(pubsub.unsubscribed().contains("s1", "updates"));
    CHECK_FALSE(pubsub.subscriptions().contains("s1", "updates"));
    CHECK(pubsub.subscriptions().contains("s2", "updates"));
    CHECK(pubsub.publish("updates", "m") == 1);
    CHECK(pubsub.unsubscribe_all("s1") == 1);
    CHECK(pubsub.unsubscribed().contains("s1", "chat"));
    CHECK(pubsub.publish("chat", "m") == 0);
    CHECK(pubsub.subscribed().size() == 3);
    CHECK(pubsub.subscriptions().size() == 1);
    CHECK(pubsub.unsubscribed().size() == 2);
}

TEST_CASE("testing: the final counters of an unsubscribed subscription are recorded", "[testing]") {
    RecordingBroker<> pubsub;
    pubsub.subscribe("s", "a", [](const std::string&) {});
    pubsub.publish("a", "1");
    pubsub.publish("a", "2");
    pubsub.unsubscribe("s", "a");
    CHECK(pubsub.unsubscribed().at(0).final_stats.delivered == 2);
}

TEST_CASE("testing: queued delivery is driven step by step with a ManualExecutor", "[testing]") {
    RecordingBroker<> pubsub;
    herald::ManualExecutor executor;
    std::vector<std::string> got;
    pubsub.subscribe(
        "worker", "jobs", [&](const std::string& p) { got.push_back(p); },
        herald::queued{.capacity = 2, .executor = executor.executor()});
    CHECK(pubsub.subscriptions().at(0).queued);
    CHECK(pubsub.publish("jobs", "1") == 1);
    CHECK(pubsub.publish("jobs", "2") == 1);
    CHECK(pubsub.publish("jobs", "3") == 0); // refused by the full queue: no receiver
    CHECK(pubsub.published().at(2).receivers == 0);
    CHECK(got.empty());
    CHECK(pubsub.stats("worker", "jobs").queued == 2);
    CHECK(pubsub.stats("worker", "jobs").drops.newest == 1);
    REQUIRE(executor.run_one());
    CHECK(got == std::vector<std::string>{"1", "2"});
    CHECK(pubsub.publish("jobs", "4") == 1);
    executor.run_all();
    CHECK(got == std::vector<std::string>{"1", "2", "4"});
    CHECK(pubsub.stats("worker", "jobs").delivered == 3);
    CHECK(pubsub.published().size() == 4);
}

TEST_CASE("testing: a handler may publish and unsubscribe through the recorder", "[testing]") {
    RecordingBroker<> pubsub;
    pubsub.subscribe("s", "ping", [&](const std::string&) {
        pubsub.publish("pong", "back");
        pubsub.unsubscribe("s", "ping");
    });
    pubsub.subscribe("s", "pong", [](const std::string&) {});
    CHECK(pubsub.publish("ping", "x") == 1);
    const auto published = pubsub.published();
    REQUIRE(published.size() == 2);
    CHECK(published.at(0).channel == "ping");
    CHECK(published.at(1).channel == "pong");
    CHECK(published.at(1).receivers == 1);
    CHECK(pubsub.unsubscribed().contains("s", "ping"));
    CHECK(pubsub.publish("ping", "again") == 0);
}

TEST_CASE("testing: stats of a subscription the owner does not hold name both in the error",
          "[testing]") {
    RecordingBroker<> pubsub;
    try {
        (void)pubsub.stats("s", "missing");
        FAIL("no exception");
    } catch (const std::out_of_range& e) {
        CHECK(std::string(e.what()).find("\"s\"") != std::string::npos);
        CHECK(std::string(e.what()).find("\"missing\"") != std::string::npos);
    }
}

TEST_CASE("testing: clear forgets the logs but keeps the subscriptions", "[testing]") {
    RecordingBroker<int> pubsub;
    pubsub.subscribe("s", "n", [](const int&) {});
    pubsub.publish("n", 7);
    pubsub.clear();
    CHECK(pubsub.published().empty());
    CHECK(pubsub.subscribed().empty());
    CHECK(pubsub.subscriptions().contains("s", "n"));
    CHECK(pubsub.publish("n", 8) == 1);
    CHECK(pubsub.published().contains("n", 8));
}

#ifndef HERALD_CATCH3
TEST_CASE("testing: the Catch2 matchers check what was recorded", "[testing]") {
    using herald::testing::HasPublish;
    using herald::testing::HasSubscription;
    using herald::testing::HasUnsubscribe;
    using herald::testing::PublishedInOrder;
    RecordingBroker<> pubsub;
    pubsub.subscribe("session_123", "updates", [](const std::string&) {});
    pubsub.publish("updates", "hello");
    pubsub.publish("other", "x");
    pubsub.unsubscribe("session_123", "updates");
    CHECK_THAT(pubsub.subscribed(), HasSubscription("session_123", "updates"));
    CHECK_THAT(pubsub.subscriptions(), !HasSubscription("session_123", "updates"));
    CHECK_THAT(pubsub.unsubscribed(), HasUnsubscribe("session_123", "updates"));
    CHECK_THAT(pubsub.published(), HasPublish("updates", "hello"));
    CHECK_THAT(pubsub.published(), !HasPublish("updates", "bye"));
    CHECK_THAT(pubsub.published(), PublishedInOrder({"updates", "other"}));

    RecordingBroker<int> numbers;
    numbers.publish("n", 3);
    CHECK_THAT(numbers.published(), HasPublish("n", 3));
    CHECK_THAT(numbers.published(), PublishedInOrder<int>({"n"}));
}

TEST_CASE("testing: a failed matcher describes what was recorded", "[testing]") {
    RecordingBroker<> pubsub;
    pubsub.subscribe("s", "a", [](const std::string&) {});
    const auto matcher = herald::testing::HasSubscription("s", "b");
    CHECK_FALSE(matcher.match(pubsub.subscriptions()));
    CHECK(matcher.describe() == R"(has a subscription of "s" to "b" (recorded: s/a))");
    pubsub.publish("a", "m");
    const auto order = herald::testing::PublishedInOrder({"b"});
    CHECK_FALSE(order.match(pubsub.published()));
    CHECK(order.describe().find("(published on: { \"a\" })") != std::string::npos);
}
#endif
