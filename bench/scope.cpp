// herald_bench_scope: what a scope adds to a publish. The same broker, channel and subscriber,
// published on directly ("plain") and through broker.scope("dev:") ("scoped"), with a handler
// taking the payload (passed to the broker untouched) and one taking the envelope (wrapped to
// see the relative channel). Names follow "W9.<what>/<implementation>".

#include <herald/broker.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>

namespace {

const std::string payload = "o-1";

// `Envelope` picks the handler: false takes `const std::string&`, true the `Message`.
template <bool Envelope>
struct Fixture {
    herald::Broker<std::string> broker;
    herald::Subscription subscription;
    std::uint64_t sink = 0;

    Fixture() {
        if constexpr (Envelope) {
            subscription = broker.subscribe(
                "dev:orders.created",
                [this](const herald::Message<std::string>& m) { sink += m.channel.size(); });
        } else {
            subscription = broker.subscribe("dev:orders.created",
                                            [this](const std::string& p) { sink += p.size(); });
        }
    }
};

template <bool Envelope>
void plain(benchmark::State& state) {
    Fixture<Envelope> f;
    for (auto _ : state) {
        benchmark::DoNotOptimize(f.broker.publish("dev:orders.created", payload));
    }
    benchmark::DoNotOptimize(f.sink);
}

template <bool Envelope>
void scoped(benchmark::State& state) {
    Fixture<Envelope> f;
    const auto dev = f.broker.scope("dev:");
    for (auto _ : state) {
        benchmark::DoNotOptimize(dev.publish("orders.created", payload));
    }
    benchmark::DoNotOptimize(f.sink);
}

// The envelope variants subscribe through the scope, so that the wrapped handler is measured.
void scoped_envelope(benchmark::State& state) {
    herald::Broker<std::string> broker;
    const auto dev = broker.scope("dev:");
    std::uint64_t sink = 0;
    auto subscription = dev.subscribe(
        "orders.created", [&](const herald::Message<std::string>& m) { sink += m.channel.size(); });
    for (auto _ : state) {
        benchmark::DoNotOptimize(dev.publish("orders.created", payload));
    }
    benchmark::DoNotOptimize(sink);
}

BENCHMARK(plain<false>)->Name("W9.publish/payload handler/herald plain");
BENCHMARK(scoped<false>)->Name("W9.publish/payload handler/herald scoped");
BENCHMARK(plain<true>)->Name("W9.publish/envelope handler/herald plain");
BENCHMARK(scoped_envelope)->Name("W9.publish/envelope handler/herald scoped");

} // namespace

BENCHMARK_MAIN();
