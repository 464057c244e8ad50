// W7: the Redis bridge against hand-written hiredis code, on one private redis-server
// (127.0.0.1, see redis_server.hpp), in the three measures:
//   W7.publish     throughput of 64-byte PUBLISHes: a non-pipelined hiredis loop (one round
//                  trip each), a pipelined one (append 10,000, then read the replies), and
//                  herald's Broker::publish on a distributed channel (outbox + I/O thread),
//                  each batch ending when the server has acknowledged every message;
//   W7.latency     process A -> server -> process B at 10,000 msg/s (two connections / two
//                  bridges in one process, timestamps in the payload): p50 and p99;
//   W7.fanout      1,000 local subscribers of one channel: herald's in-process fan-out per
//                  publish, and the receiving side of the bridge per message (a pipelined
//                  hiredis publisher sends, one upstream subscription, 1,000 deliveries each).

#include "redis_server.hpp"

#include <herald/herald.hpp>
#include <herald/redis.hpp>

#include <benchmark/benchmark.h>

#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::size_t batch = 10000;

const std::string& payload64() {
    static const std::string p(64, 'p');
    return p;
}

herald::redis::Options bridge_options() {
    herald::redis::Options o;
    o.port = bench::RedisServer::instance()->port();
    o.prefix = "bench:";
    o.outbox_capacity = 1u << 20;
    o.inbound_capacity = 1u << 20;
    return o;
}

bool server_ready(benchmark::State& state) {
    if (bench::RedisServer::instance() == nullptr) {
        state.SkipWithError(("redis-server unavailable: " + bench::RedisServer::error()).c_str());
        return false;
    }
    return true;
}

void read_replies(redisContext* c, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        void* reply = nullptr;
        if (redisGetReply(c, &reply) != REDIS_OK || reply == nullptr) {
            throw std::runtime_error("redis read failed");
        }
        freeReplyObject(reply);
    }
}

void append_publish(redisContext* c, const std::string& channel, const std::string& payload) {
    const char* argv[] = {"PUBLISH", channel.data(), payload.data()};
    const std::size_t lengths[] = {7, channel.size(), payload.size()};
    redisAppendCommandArgv(c, 3, argv, lengths);
}

// ---- W7.publish ---------------------------------------------------------------------------

void publish_hiredis(benchmark::State& state, bool pipelined) {
    if (!server_ready(state)) {
        return;
    }
    auto c = bench::RedisServer::instance()->connect();
    const std::string channel = "bench:publish";
    for (auto _ : state) {
        const auto start = Clock::now();
        if (pipelined) {
            for (std::size_t i = 0; i < batch; ++i) {
                append_publish(c.get(), channel, payload64());
            }
            read_replies(c.get(), batch);
        } else {
            for (std::size_t i = 0; i < batch; ++i) {
                append_publish(c.get(), channel, payload64());
                read_replies(c.get(), 1);
            }
        }
        state.SetIterationTime(std::chrono::duration<double>(Clock::now() - start).count());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch));
}

void publish_herald(benchmark::State& state) {
    if (!server_ready(state)) {
        return;
    }
    herald::Broker broker;
    herald::redis::Bridge bridge(broker, bridge_options(),
                                 herald::redis::Distribution{}.channel("publish"));
    if (!bridge.flush(10s)) {
        state.SkipWithError("the bridge did not connect");
        return;
    }
    for (auto _ : state) {
        const auto start = Clock::now();
        for (std::size_t i = 0; i < batch; ++i) {
            broker.publish("publish", payload64());
        }
        if (!bridge.flush(60s)) {
            state.SkipWithError("flush timed out");
            return;
        }
        state.SetIterationTime(std::chrono::duration<double>(Clock::now() - start).count());
    }
    const auto st = bridge.stats();
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch));
    state.counters["dropped"] = static_cast<double>(st.dropped_overflow);
    state.counters["outbox_high_water"] = static_cast<double>(st.outbox_high_water);
}

// ---- W7.latency -----------------------------------------------------------------------------

constexpr std::size_t latency_messages = 20000;
constexpr auto latency_period = 100us; // 10,000 msg/s

std::string stamped() {
    std::string p = std::to_string(Clock::now().time_since_epoch().count());
    p.resize(64, ' ');
    return p;
}

std::int64_t age_ns(const std::string& payload) {
    const auto sent = std::stoll(payload);
    return Clock::now().time_since_epoch().count() - sent;
}

void report_latency(benchmark::State& state, std::vector<std::int64_t>& ns) {
    if (ns.empty()) {
        state.SkipWithError("nothing received");
        return;
    }
    std::sort(ns.begin(), ns.end());
    state.counters["p50_us"] = static_cast<double>(ns[ns.size() / 2]) / 1000.0;
    state.counters["p99_us"] = static_cast<double>(ns[ns.size() * 99 / 100]) / 1000.0;
    state.counters["received"] = static_cast<double>(ns.size());
}

template <class Publish>
void paced(Publish&& publish) {
    auto next = Clock::now();
    for (std::size_t i = 0; i < latency_messages; ++i) {
        // Sleeping, not spinning: a spinning publisher would keep one of the machine's cores
        // from the threads being measured.
        std::this_thread::sleep_until(next);
        publish();
        next += latency_period;
    }
}

void latency_hiredis(benchmark::State& state) {
    if (!server_ready(state)) {
        return;
    }
    auto pub = bench::RedisServer::instance()->connect();
    auto sub = bench::RedisServer::instance()->connect();
    const std::string channel = "bench:latency";
    const char* argv[] = {"SUBSCRIBE", channel.data()};
    const std::size_t lengths[] = {9, channel.size()};
    redisAppendCommandArgv(sub.get(), 2, argv, lengths);
    read_replies(sub.get(), 1);
    for (auto _ : state) {
        std::vector<std::int64_t> ns;
        ns.reserve(latency_messages);
        std::thread reader([&] {
            for (std::size_t i = 0; i < latency_messages; ++i) {
                void* raw = nullptr;
                if (redisGetReply(sub.get(), &raw) != REDIS_OK || raw == nullptr) {
                    return;
                }
                auto* r = static_cast<redisReply*>(raw);
                ns.push_back(age_ns(
                    std::string(r->element[2]->str, static_cast<std::size_t>(r->element[2]->len))));
                freeReplyObject(r);
            }
        });
        paced([&] {
            const std::string p = stamped();
            append_publish(pub.get(), channel, p);
            read_replies(pub.get(), 1);
        });
        reader.join();
        report_latency(state, ns);
    }
}

void latency_herald(benchmark::State& state) {
    if (!server_ready(state)) {
        return;
    }
    const auto dist = herald::redis::Distribution{}.channel("latency2");
    herald::Broker a;
    herald::Broker b;
    herald::redis::Bridge bridge_a(a, bridge_options(), dist);
    herald::redis::Bridge bridge_b(b, bridge_options(), dist);
    std::vector<std::int64_t> ns;
    std::atomic<std::size_t> count{0};
    auto s = b.subscribe("latency2", [&](const std::string& p) {
        ns.push_back(age_ns(p));
        count.fetch_add(1, std::memory_order_release);
    });
    if (!bridge_a.flush(10s) || !bridge_b.flush(10s)) {
        state.SkipWithError("the bridges did not connect");
        return;
    }
    for (auto _ : state) {
        ns.clear();
        ns.reserve(latency_messages);
        count = 0;
        paced([&] { a.publish("latency2", stamped()); });
        const auto deadline = Clock::now() + 30s;
        while (count.load(std::memory_order_acquire) < latency_messages &&
               Clock::now() < deadline) {
            std::this_thread::sleep_for(1ms);
        }
        report_latency(state, ns);
    }
}

double cpu_seconds(clockid_t clock) {
    timespec t{};
    ::clock_gettime(clock, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

// ---- W7.fanout ------------------------------------------------------------------------------

constexpr std::size_t fanout = 1000;

void fanout_in_process(benchmark::State& state) {
    herald::Broker broker;
    std::uint64_t calls = 0;
    std::vector<herald::Subscription> subs;
    for (std::size_t i = 0; i < fanout; ++i) {
        subs.push_back(broker.subscribe("fan", [&](const std::string&) { ++calls; }));
    }
    const std::string& p = payload64();
    for (auto _ : state) {
        benchmark::DoNotOptimize(broker.publish("fan", p));
    }
    state.counters["deliveries_per_message"] =
        static_cast<double>(calls) / static_cast<double>(state.iterations());
    state.SetItemsProcessed(state.iterations());
}

void fanout_bridge(benchmark::State& state) {
    if (!server_ready(state)) {
        return;
    }
    herald::Broker broker;
    herald::redis::Bridge bridge(broker, bridge_options(),
                                 herald::redis::Distribution{}.channel("fan"));
    // As in the in-process run, the handlers bump a plain counter (they all run on the
    // bridge's delivery thread); the last subscriber also tells the benchmark thread.
    std::uint64_t calls = 0;
    std::atomic<std::uint64_t> messages_done{0};
    std::vector<herald::Subscription> subs;
    for (std::size_t i = 0; i + 1 < fanout; ++i) {
        subs.push_back(broker.subscribe("fan", [&](const std::string&) { ++calls; }));
    }
    subs.push_back(broker.subscribe("fan", [&](const std::string&) {
        ++calls;
        messages_done.fetch_add(1, std::memory_order_release);
    }));
    if (!bridge.flush(10s)) {
        state.SkipWithError("the bridge did not connect");
        return;
    }
    auto pub = bench::RedisServer::instance()->connect();
    const std::string channel = "bench:fan";
    constexpr std::size_t messages = 2000;
    double receive_cpu = 0;
    for (auto _ : state) {
        const std::uint64_t target = messages_done.load() + messages;
        const double process_before = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
        const double main_before = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
        const auto start = Clock::now();
        for (std::size_t i = 0; i < messages; ++i) {
            append_publish(pub.get(), channel, payload64());
        }
        read_replies(pub.get(), messages);
        while (messages_done.load(std::memory_order_acquire) < target) {
            std::this_thread::sleep_for(20us);
        }
        state.SetIterationTime(std::chrono::duration<double>(Clock::now() - start).count());
        // The bridge's threads: the process's CPU time less this (the publishing) thread's.
        receive_cpu += (cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - process_before) -
                       (cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - main_before);
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(messages));
    state.counters["receive_cpu_us_per_message"] =
        receive_cpu * 1e6 /
        static_cast<double>(state.iterations() * static_cast<std::int64_t>(messages));
    state.counters["deliveries_per_message"] =
        static_cast<double>(calls) / static_cast<double>(messages_done.load());
    state.counters["upstream_subscriptions"] =
        static_cast<double>(bridge.stats().upstream_channels);
}

} // namespace

int main(int argc, char** argv) {
    benchmark::RegisterBenchmark("W7.publish/64B/hiredis_unpipelined", publish_hiredis, false)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("W7.publish/64B/hiredis_pipelined", publish_hiredis, true)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("W7.publish/64B/herald_bridge", publish_herald)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("W7.latency/10k_per_s/hiredis_pair", latency_hiredis)
        ->Iterations(1)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("W7.latency/10k_per_s/herald_bridge", latency_herald)
        ->Iterations(1)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("W7.fanout/1000/herald_in_process", fanout_in_process)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("W7.fanout/1000/herald_bridge_receive", fanout_bridge)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
