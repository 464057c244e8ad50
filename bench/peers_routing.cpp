// W2 (string routing) and W3 (patterns) for the hand-written floors: an
// `std::unordered_map<std::string, std::vector<std::function>>` and a linear scan over every
// pattern (Redis's algorithm), calling herald's own matchers so only the indexing differs.

#include "common.hpp"
#include "workloads.hpp"

#include <herald/pattern.hpp>

#include <string>
#include <unordered_map>

namespace bench {
namespace {

using StringHandler = std::function<void(const std::string&)>;

struct MapFloor {
    std::unordered_map<std::string, std::vector<StringHandler>> channels;
    std::vector<std::string> names;
    std::vector<std::string> missing;
    std::vector<std::uint32_t> order;
    std::uint64_t sink = 0;

    explicit MapFloor(std::size_t n) : order(random_indexes(n)) {
        names.reserve(n);
        missing.reserve(n);
        channels.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            names.push_back(channel_name(i));
            missing.push_back(missing_name(i));
            channels[names.back()].push_back(
                [s = &sink](const std::string& payload) { consume(s, payload); });
        }
    }

    std::size_t publish(const std::string& channel, const std::string& payload) const {
        auto it = channels.find(channel);
        if (it == channels.end()) {
            return 0;
        }
        for (const auto& h : it->second) {
            h(payload);
        }
        return it->second.size();
    }
};

void w2_floor(benchmark::State& state, std::size_t n, bool existing) {
    MapFloor& f = cached_fixture<MapFloor>(n, [n] { return std::make_shared<MapFloor>(n); });
    const std::vector<std::string>& targets = existing ? f.names : f.missing;
    const std::string& payload = string_payload();
    std::size_t i = 0;
    std::size_t received = 0;
    for (auto _ : state) {
        received += f.publish(targets[f.order[i++ & random_mask]], payload);
    }
    benchmark::DoNotOptimize(f.sink);
    state.counters["receivers_per_publish"] =
        static_cast<double>(received) / static_cast<double>(state.iterations());
}

/// Redis's algorithm: every publish tests every pattern.
struct LinearScan {
    struct Entry {
        std::string pattern;
        StringHandler handler;
    };
    std::vector<Entry> patterns;
    std::vector<std::string> channels;
    std::vector<std::uint32_t> order;
    std::uint64_t sink = 0;
    bool nats;

    LinearScan(std::size_t n, bool nats_patterns) : order(random_indexes(n)), nats(nats_patterns) {
        const char sep = nats ? '.' : ':';
        for (std::size_t i = 0; i < n; ++i) {
            add(nats ? sensor_nats(i) : sensor_glob(i));
            channels.push_back(sensor_channel(i, sep));
        }
        for (const std::string& broad : nats ? broad_nats() : broad_globs()) {
            add(broad);
        }
    }

    void add(std::string pattern) {
        if (nats) {
            (void)herald::nats_match(pattern, "validate"); // throws if invalid, as subscribe would
        }
        patterns.push_back(
            {std::move(pattern), [s = &sink](const std::string& payload) { consume(s, payload); }});
    }

    std::size_t publish(const std::string& channel, const std::string& payload) const {
        std::size_t receivers = 0;
        for (const Entry& e : patterns) {
            // NATS patterns were valid when added, as a real subscriber list would check once;
            // herald::nats_match would validate the pattern again on every call.
            const bool match = nats ? herald::detail::nats_match_valid(e.pattern, channel, '.')
                                    : herald::glob_match(e.pattern, channel);
            if (match) {
                e.handler(payload);
                ++receivers;
            }
        }
        return receivers;
    }
};

void w3_linear(benchmark::State& state, std::size_t n, bool nats) {
    LinearScan& f = cached_fixture<LinearScan>(
        n * 2 + (nats ? 1 : 0), [n, nats] { return std::make_shared<LinearScan>(n, nats); });
    const std::string& payload = string_payload();
    std::size_t i = 0;
    std::size_t received = 0;
    for (auto _ : state) {
        received += f.publish(f.channels[f.order[i++ & random_mask]], payload);
    }
    benchmark::DoNotOptimize(f.sink);
    state.counters["receivers_per_publish"] =
        static_cast<double>(received) / static_cast<double>(state.iterations());
}

} // namespace

void add_w2_peers(std::size_t n) {
    const std::string size = std::to_string(n);
    benchmark::RegisterBenchmark(join({"W2.routing/", size, "/unordered_map_floor"}).c_str(),
                                 w2_floor, n, true);
    benchmark::RegisterBenchmark(join({"W2.no_subscriber/", size, "/unordered_map_floor"}).c_str(),
                                 w2_floor, n, false);
}

void add_w3_peers(std::size_t n) {
    const std::string size = std::to_string(n);
    benchmark::RegisterBenchmark(join({"W3.glob/", size, "/linear_scan"}).c_str(), w3_linear, n,
                                 false);
    benchmark::RegisterBenchmark(join({"W3.nats/", size, "/linear_scan"}).c_str(), w3_linear, n,
                                 true);
}

} // namespace bench
