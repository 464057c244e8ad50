// W2 (string routing) and W3 (glob and NATS patterns) for herald's default broker:
// `herald::Broker<>`, std::string payloads published by channel name.

#include "common.hpp"
#include "workloads.hpp"

#include <herald/herald.hpp>

#include <string>

namespace bench {
namespace {

struct Routing {
    herald::Broker<> broker;
    std::vector<herald::Subscription> subscriptions; // destroyed before the broker
    std::vector<std::string> names;
    std::vector<std::string> missing;
    std::vector<std::uint32_t> order;
    std::uint64_t sink = 0;

    explicit Routing(std::size_t n) : order(random_indexes(n)) {
        names.reserve(n);
        missing.reserve(n);
        subscriptions.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            names.push_back(channel_name(i));
            missing.push_back(missing_name(i));
            subscriptions.push_back(broker.subscribe(
                names.back(), [s = &sink](const std::string& payload) { consume(s, payload); }));
        }
    }
};

void w2_herald(benchmark::State& state, std::size_t n, bool existing) {
    Routing& f = cached_fixture<Routing>(n, [n] { return std::make_shared<Routing>(n); });
    const std::vector<std::string>& targets = existing ? f.names : f.missing;
    const std::string& payload = string_payload();
    std::size_t i = 0;
    std::size_t received = 0;
    for (auto _ : state) {
        received += f.broker.publish(targets[f.order[i++ & random_mask]], payload);
    }
    benchmark::DoNotOptimize(f.sink);
    state.counters["receivers_per_publish"] =
        static_cast<double>(received) / static_cast<double>(state.iterations());
}

struct Patterns {
    herald::Broker<> broker;
    std::vector<herald::Subscription> subscriptions;
    std::vector<std::string> channels;
    std::vector<std::uint32_t> order;
    std::uint64_t sink = 0;

    Patterns(std::size_t n, bool nats) : order(random_indexes(n)) {
        subscriptions.reserve(n + 3);
        auto handler = [s = &sink](const std::string& payload) { consume(s, payload); };
        for (std::size_t i = 0; i < n; ++i) {
            if (nats) {
                subscriptions.push_back(
                    broker.psubscribe(herald::nats_pattern(sensor_nats(i)), handler));
            } else {
                subscriptions.push_back(broker.psubscribe(sensor_glob(i), handler));
            }
            channels.push_back(sensor_channel(i, nats ? '.' : ':'));
        }
        for (const std::string& broad : nats ? broad_nats() : broad_globs()) {
            subscriptions.push_back(nats ? broker.psubscribe(herald::nats_pattern(broad), handler)
                                         : broker.psubscribe(broad, handler));
        }
    }
};

void w3_herald(benchmark::State& state, std::size_t n, bool nats) {
    Patterns& f = cached_fixture<Patterns>(
        n * 2 + (nats ? 1 : 0), [n, nats] { return std::make_shared<Patterns>(n, nats); });
    const std::string& payload = string_payload();
    std::size_t i = 0;
    std::size_t received = 0;
    const std::uint64_t evaluations_before = f.broker.pattern_evaluations();
    for (auto _ : state) {
        received += f.broker.publish(f.channels[f.order[i++ & random_mask]], payload);
    }
    benchmark::DoNotOptimize(f.sink);
    const auto iterations = static_cast<double>(state.iterations());
    state.counters["receivers_per_publish"] = static_cast<double>(received) / iterations;
    state.counters["pattern_evaluations_per_publish"] =
        static_cast<double>(f.broker.pattern_evaluations() - evaluations_before) / iterations;
}

} // namespace

void add_w2_herald(std::size_t n) {
    const std::string size = std::to_string(n);
    benchmark::RegisterBenchmark(join({"W2.routing/", size, "/herald"}).c_str(), w2_herald, n,
                                 true);
    benchmark::RegisterBenchmark(join({"W2.no_subscriber/", size, "/herald"}).c_str(), w2_herald, n,
                                 false);
}

void add_w3_herald(std::size_t n) {
    const std::string size = std::to_string(n);
    benchmark::RegisterBenchmark(join({"W3.glob/", size, "/herald"}).c_str(), w3_herald, n, false);
    benchmark::RegisterBenchmark(join({"W3.nats/", size, "/herald"}).c_str(), w3_herald, n, true);
}

} // namespace bench
