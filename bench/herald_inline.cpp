// W1 (inline fan-out) and W5 (churn) for herald: the thread-safe broker through a
// pre-resolved publisher handle (the headline), the same with a channel lookup per publish,
// and the `single_threaded` policy.

#include "common.hpp"
#include "workloads.hpp"

#include <herald/herald.hpp>

#include <string>

namespace bench {
namespace {

const herald::Topic<Payload64> fanout_topic{"w1.fanout"};

template <class Policy>
struct FanOut {
    herald::Broker<std::string, Policy> broker;
    std::vector<herald::Subscription> subscriptions;
    std::uint64_t sink = 0;

    explicit FanOut(std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) {
            subscriptions.push_back(
                broker.subscribe(fanout_topic, [s = &sink](const Payload64& p) { consume(s, p); }));
        }
    }
};

void set_fanout_counters(benchmark::State& state, std::size_t n) {
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
    state.counters["subscribers"] = static_cast<double>(n);
}

template <class Policy>
void w1_publisher(benchmark::State& state, std::size_t n) {
    FanOut<Policy> f(n);
    auto publisher = f.broker.publisher(fanout_topic);
    Payload64 p{};
    for (auto _ : state) {
        ++p.words[0];
        benchmark::DoNotOptimize(publisher.publish(p));
    }
    benchmark::DoNotOptimize(f.sink);
    set_fanout_counters(state, n);
}

template <class Policy>
void w1_topic(benchmark::State& state, std::size_t n) {
    FanOut<Policy> f(n);
    Payload64 p{};
    for (auto _ : state) {
        ++p.words[0];
        benchmark::DoNotOptimize(f.broker.publish(fanout_topic, p));
    }
    benchmark::DoNotOptimize(f.sink);
    set_fanout_counters(state, n);
}

// ---- W5 ---------------------------------------------------------------------------------

constexpr std::size_t busy_subscribers = 100;

template <class Policy>
void w5_churn(benchmark::State& state) {
    const herald::Topic<Payload64> busy{"w5.busy"};
    const herald::Topic<Payload64> churn{"w5.churn"};
    herald::Broker<std::string, Policy> broker;
    std::uint64_t sink = 0;
    std::vector<herald::Subscription> keep;
    for (std::size_t i = 0; i < busy_subscribers; ++i) {
        keep.push_back(broker.subscribe(busy, [s = &sink](const Payload64& p) { consume(s, p); }));
    }
    for (auto _ : state) {
        // The handle's destructor unsubscribes: the RAII path (unsubscribe() would also
        // gather the final counters).
        herald::Subscription s =
            broker.subscribe(churn, [p = &sink](const Payload64& m) { consume(p, m); });
        benchmark::DoNotOptimize(s);
    }
    benchmark::DoNotOptimize(sink);
}

} // namespace

void add_w1_herald(std::size_t n) {
    const std::string size = std::to_string(n);
    benchmark::RegisterBenchmark(join({"W1.fanout/", size, "/herald_publisher"}).c_str(),
                                 w1_publisher<herald::thread_safe>, n);
    benchmark::RegisterBenchmark(join({"W1.fanout/", size, "/herald_publish_topic"}).c_str(),
                                 w1_topic<herald::thread_safe>, n);
    benchmark::RegisterBenchmark(join({"W1.fanout/", size, "/herald_single_threaded"}).c_str(),
                                 w1_publisher<herald::single_threaded>, n);
}

void add_w5_herald() {
    benchmark::RegisterBenchmark("W5.churn/pair/herald", w5_churn<herald::thread_safe>);
    benchmark::RegisterBenchmark("W5.churn/pair/herald_single_threaded",
                                 w5_churn<herald::single_threaded>);
}

} // namespace bench
