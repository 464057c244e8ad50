// W1 (inline fan-out) and W5 (churn) for the in-process peers: Boost.Signals2, libsigc++ 3 and
// the hand-written `std::vector<std::function>` floor.

#include "common.hpp"
#include "workloads.hpp"

#include <boost/signals2/signal.hpp>
#include <sigc++/sigc++.h>

#include <algorithm>
#include <string>

namespace bench {
namespace {

using Handler = std::function<void(const Payload64&)>;

/// The floor: what anyone would write by hand for one channel, single-threaded.
class VectorFloor {
public:
    std::uint64_t subscribe(Handler h) {
        handlers_.push_back({next_id_, std::move(h)});
        return next_id_++;
    }
    void unsubscribe(std::uint64_t id) {
        auto it = std::find_if(handlers_.begin(), handlers_.end(),
                               [id](const auto& e) { return e.first == id; });
        if (it != handlers_.end()) {
            handlers_.erase(it);
        }
    }
    std::size_t publish(const Payload64& p) const {
        for (const auto& e : handlers_) {
            e.second(p);
        }
        return handlers_.size();
    }

private:
    std::vector<std::pair<std::uint64_t, Handler>> handlers_;
    std::uint64_t next_id_ = 1;
};

void set_fanout_counters(benchmark::State& state, std::size_t n) {
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
    state.counters["subscribers"] = static_cast<double>(n);
}

void w1_floor(benchmark::State& state, std::size_t n) {
    std::uint64_t sink = 0;
    VectorFloor floor;
    for (std::size_t i = 0; i < n; ++i) {
        floor.subscribe([s = &sink](const Payload64& p) { consume(s, p); });
    }
    Payload64 p{};
    for (auto _ : state) {
        ++p.words[0];
        benchmark::DoNotOptimize(floor.publish(p));
    }
    benchmark::DoNotOptimize(sink);
    set_fanout_counters(state, n);
}

void w1_boost(benchmark::State& state, std::size_t n) {
    std::uint64_t sink = 0;
    boost::signals2::signal<void(const Payload64&)> signal;
    std::vector<boost::signals2::scoped_connection> connections;
    for (std::size_t i = 0; i < n; ++i) {
        connections.emplace_back(
            signal.connect([s = &sink](const Payload64& p) { consume(s, p); }));
    }
    Payload64 p{};
    for (auto _ : state) {
        ++p.words[0];
        signal(p);
    }
    benchmark::DoNotOptimize(sink);
    set_fanout_counters(state, n);
}

void w1_sigc(benchmark::State& state, std::size_t n) {
    std::uint64_t sink = 0;
    sigc::signal<void(const Payload64&)> signal;
    std::vector<sigc::connection> connections;
    for (std::size_t i = 0; i < n; ++i) {
        connections.emplace_back(
            signal.connect([s = &sink](const Payload64& p) { consume(s, p); }));
    }
    Payload64 p{};
    for (auto _ : state) {
        ++p.words[0];
        signal.emit(p);
    }
    benchmark::DoNotOptimize(sink);
    set_fanout_counters(state, n);
}

// ---- W5 ---------------------------------------------------------------------------------

constexpr std::size_t busy_subscribers = 100;

void w5_floor(benchmark::State& state) {
    std::uint64_t sink = 0;
    VectorFloor busy;
    VectorFloor churn;
    for (std::size_t i = 0; i < busy_subscribers; ++i) {
        busy.subscribe([s = &sink](const Payload64& p) { consume(s, p); });
    }
    for (auto _ : state) {
        churn.unsubscribe(churn.subscribe([s = &sink](const Payload64& p) { consume(s, p); }));
    }
    benchmark::DoNotOptimize(sink);
}

void w5_boost(benchmark::State& state) {
    std::uint64_t sink = 0;
    boost::signals2::signal<void(const Payload64&)> busy;
    boost::signals2::signal<void(const Payload64&)> churn;
    std::vector<boost::signals2::scoped_connection> keep;
    for (std::size_t i = 0; i < busy_subscribers; ++i) {
        keep.emplace_back(busy.connect([s = &sink](const Payload64& p) { consume(s, p); }));
    }
    for (auto _ : state) {
        boost::signals2::connection c =
            churn.connect([s = &sink](const Payload64& p) { consume(s, p); });
        c.disconnect();
    }
    benchmark::DoNotOptimize(sink);
}

void w5_sigc(benchmark::State& state) {
    std::uint64_t sink = 0;
    sigc::signal<void(const Payload64&)> busy;
    sigc::signal<void(const Payload64&)> churn;
    std::vector<sigc::connection> keep;
    for (std::size_t i = 0; i < busy_subscribers; ++i) {
        keep.emplace_back(busy.connect([s = &sink](const Payload64& p) { consume(s, p); }));
    }
    for (auto _ : state) {
        sigc::connection c = churn.connect([s = &sink](const Payload64& p) { consume(s, p); });
        c.disconnect();
    }
    benchmark::DoNotOptimize(sink);
}

} // namespace

void add_w1_peers(std::size_t n) {
    const std::string size = std::to_string(n);
    benchmark::RegisterBenchmark(join({"W1.fanout/", size, "/vector_floor"}).c_str(), w1_floor, n);
    benchmark::RegisterBenchmark(join({"W1.fanout/", size, "/sigc++"}).c_str(), w1_sigc, n);
    benchmark::RegisterBenchmark(join({"W1.fanout/", size, "/boost_signals2"}).c_str(), w1_boost,
                                 n);
}

void add_w5_peers() {
    benchmark::RegisterBenchmark("W5.churn/pair/vector_floor", w5_floor);
    benchmark::RegisterBenchmark("W5.churn/pair/sigc++", w5_sigc);
    benchmark::RegisterBenchmark("W5.churn/pair/boost_signals2", w5_boost);
}

} // namespace bench
