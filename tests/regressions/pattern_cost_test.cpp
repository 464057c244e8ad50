// Regression: publish cost with 10 versus 100,000 pattern subscriptions.
//
// Sources: redis #332 (https://github.com/redis/redis/issues/332): PUBLISH walks every pattern
// of every PSUBSCRIBEd client, so its cost grows with the number of patterns, not with the
// number that match. nats-server #4341 (https://github.com/nats-io/nats-server/issues/4341):
// subject matching slowing down as wildcard subscriptions accumulate. herald's pattern index
// reaches only the candidates a subject can match. Compared by the broker's count of pattern
// evaluations (full matcher calls), never by time.
#include <herald/herald.hpp>

#include "test_catch.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace {

/// Subscribes `n` patterns of realistic shapes (a glob with a literal prefix, a NATS and an
/// MQTT token pattern per id) and returns the evaluations and receivers of publishing to a few
/// subjects, each of which a handful of patterns match.
struct Cost {
    std::uint64_t evaluations = 0;
    std::size_t receivers = 0;
};

Cost publish_cost(int ids) {
    herald::Broker broker;
    std::vector<herald::Subscription> subs;
    subs.reserve(static_cast<std::size_t>(ids) * 3 + 3);
    std::uint64_t calls = 0;
    const auto handler = [&calls](const std::string&) { ++calls; };
    for (int i = 0; i < ids; ++i) {
        const std::string id = std::to_string(i);
        subs.push_back(broker.psubscribe("user:" + id + ":*", handler));
        subs.push_back(broker.psubscribe(herald::nats_pattern("metrics." + id + ".>"), handler));
        subs.push_back(
            broker.psubscribe(herald::mqtt_pattern("sensors/" + id + "/+/temp"), handler));
    }
    // A few broad patterns that match everything of their family, as real deployments have.
    subs.push_back(broker.psubscribe("user:*", handler));
    subs.push_back(broker.psubscribe(herald::nats_pattern("metrics.>"), handler));
    subs.push_back(broker.psubscribe(herald::mqtt_pattern("sensors/#"), handler));
    CHECK(broker.numpat() == static_cast<std::size_t>(ids) * 3 + 3);

    const std::vector<std::string> subjects{"user:7:login", "metrics.7.cpu.load",
                                            "sensors/7/kitchen/temp", "user:none", "other"};
    const std::uint64_t before = broker.pattern_evaluations();
    Cost cost;
    for (const auto& subject : subjects) {
        cost.receivers += broker.publish(subject, "x");
    }
    cost.evaluations = broker.pattern_evaluations() - before;
    CHECK(calls == cost.receivers);
    return cost;
}

} // namespace

TEST_CASE("regression: a publish with 100,000 pattern subscriptions evaluates about as many "
          "patterns as with 10 (redis #332, nats-server #4341)",
          "[regression][patterns]") {
    const Cost few = publish_cost(10);
    const Cost many = publish_cost(100000 / 3 + 1); // 100,005 patterns
    // The same subscriptions match in both: one specific and one broad pattern per family.
    INFO("evaluations with 33 patterns: " << few.evaluations
                                          << ", with 100,005: " << many.evaluations);
    CHECK(few.receivers == 7);
    CHECK(many.receivers == 7);
    // Redis would evaluate every pattern for each of the 5 publishes: 500,025 evaluations.
    // herald evaluates only candidates: the same few whatever the total.
    CHECK(many.evaluations <= 3 * few.evaluations);
    CHECK(many.evaluations <= 5 * 8); // a handful per publish
    CHECK(few.evaluations > 0);
}
