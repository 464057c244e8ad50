#pragma once
// W4's driver: P publisher threads hand 64-byte messages to S subscribers on other threads;
// every subscriber receives every message (publish/subscribe, not work sharing). The payload
// carries its sequence number and the publish time, so the receiving side measures latency.
//
// An implementation `Impl` provides:
//   Impl(publishers, subscribers, capacity, Receivers&)  set up; subscribers call
//                                                         receivers.deliver(s, message)
//   void send(int publisher, const Payload64&)            called on publisher thread `publisher`
//   void stop()                                           after every subscriber is done: join
//                                                         its threads
// Publisher 0 is the benchmark's own thread; the others are started by the driver.

#include "common.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <typeinfo>
#include <vector>

namespace bench {

/// Every W4 queue holds at most this many messages per subscriber (per publisher for
/// moodycamel, whose producers each own a sub-queue).
inline constexpr std::size_t queued_capacity = 8192;

/// Marks a message that only proves a connection works (ZeroMQ's slow-joiner handshake).
inline constexpr std::uint64_t warm_up_flag = 1;

inline Payload64 make_message(std::uint64_t sequence, std::uint64_t flags = 0) {
    Payload64 m{};
    m.words[0] = sequence;
    m.words[1] = static_cast<std::uint64_t>(now_ns());
    m.words[2] = flags;
    return m;
}

/// What the subscribers record: one slot per subscriber, written only by that subscriber's
/// receiving thread (herald guarantees a queued handler never runs concurrently with itself).
class Receivers {
public:
    Receivers(int subscribers, std::size_t expected_each, bool record_latency)
        : slots_(static_cast<std::size_t>(subscribers)), pending_(subscribers) {
        for (Slot& s : slots_) {
            s.expected = expected_each;
            if (record_latency) {
                s.latencies.resize(expected_each);
            }
        }
    }

    /// Called by subscriber `s` for each message; true once it has everything it expects.
    bool deliver(int s, const Payload64& m) noexcept {
        Slot& slot = slots_[static_cast<std::size_t>(s)];
        if ((m.words[2] & warm_up_flag) != 0) {
            return slot.received == slot.expected;
        }
        const std::int64_t now = now_ns();
        if (!slot.latencies.empty() && slot.received < slot.latencies.size()) {
            slot.latencies[slot.received] = now - static_cast<std::int64_t>(m.words[1]);
        }
        if (++slot.received == slot.expected) {
            slot.finished_ns = now;
            pending_.fetch_sub(1, std::memory_order_acq_rel);
            return true;
        }
        return slot.received >= slot.expected;
    }

    /// Waits until every subscriber has everything. A run that cannot finish (a lost message,
    /// a livelocked queue) ends the process with a message instead of hanging the suite.
    void wait_all(const char* what) noexcept {
        const std::int64_t give_up = now_ns() + std::int64_t{120} * 1000000000;
        for (int p = pending_.load(std::memory_order_acquire); p != 0;
             p = pending_.load(std::memory_order_acquire)) {
            if (now_ns() > give_up) {
                std::fprintf(stderr, "W4: %s did not deliver every message within 120 s\n", what);
                std::_Exit(3);
            }
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
    }

    std::int64_t last_finish_ns() const noexcept {
        std::int64_t t = 0;
        for (const Slot& s : slots_) {
            t = std::max(t, s.finished_ns);
        }
        return t;
    }

    std::size_t received() const noexcept {
        std::size_t n = 0;
        for (const Slot& s : slots_) {
            n += s.received;
        }
        return n;
    }

    std::vector<std::int64_t> all_latencies() const {
        std::vector<std::int64_t> all;
        for (const Slot& s : slots_) {
            all.insert(all.end(), s.latencies.begin(),
                       s.latencies.begin() +
                           static_cast<std::ptrdiff_t>(std::min(s.received, s.latencies.size())));
        }
        return all;
    }

private:
    struct alignas(64) Slot {
        std::size_t expected = 0;
        std::size_t received = 0;
        std::int64_t finished_ns = 0;
        std::vector<std::int64_t> latencies;
    };
    std::vector<Slot> slots_;
    alignas(64) std::atomic<int> pending_;
};

struct RunResult {
    double seconds = 0;    // first publish to last delivery
    double deliveries = 0; // messages received, summed over subscribers
    double p50_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
};

inline double percentile_us(std::vector<std::int64_t>& sorted, double q) {
    if (sorted.empty()) {
        return 0;
    }
    const auto rank = static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
    return static_cast<double>(sorted[std::min(rank, sorted.size() - 1)]) / 1000.0;
}

/// Runs one W4 measurement. `per_publisher` messages from each publisher; `interval_ns` > 0
/// paces each publisher at one message per interval (the latency runs), 0 sends flat out.
template <class Impl>
RunResult run_queued(int publishers, int subscribers, std::size_t capacity,
                     std::size_t per_publisher, std::int64_t interval_ns) {
    const bool latency = interval_ns > 0;
    Receivers receivers(subscribers, per_publisher * static_cast<std::size_t>(publishers), latency);
    Impl impl(publishers, subscribers, capacity, receivers);

    std::atomic<bool> go{false};
    std::int64_t start_ns = 0;
    auto publish_all = [&](int k) {
        while (!go.load(std::memory_order_acquire)) {
            std::this_thread::yield();
        }
        const std::int64_t t0 = start_ns;
        for (std::size_t i = 0; i < per_publisher; ++i) {
            if (latency) {
                // Spin to the send time, yielding so receivers on this core still run.
                const std::int64_t due = t0 + static_cast<std::int64_t>(i) * interval_ns;
                while (now_ns() < due) {
                    std::this_thread::yield();
                }
            }
            impl.send(k, make_message(i));
        }
    };
    std::vector<std::thread> others;
    for (int k = 1; k < publishers; ++k) {
        others.emplace_back(publish_all, k);
    }
    start_ns = now_ns();
    go.store(true, std::memory_order_release);
    publish_all(0);
    for (std::thread& t : others) {
        t.join();
    }
    receivers.wait_all(typeid(Impl).name());
    impl.stop();

    RunResult r;
    r.seconds = static_cast<double>(receivers.last_finish_ns() - start_ns) / 1e9;
    r.deliveries = static_cast<double>(receivers.received());
    if (latency) {
        std::vector<std::int64_t> all = receivers.all_latencies();
        std::sort(all.begin(), all.end());
        r.p50_us = percentile_us(all, 0.50);
        r.p99_us = percentile_us(all, 0.99);
        r.p999_us = percentile_us(all, 0.999);
        r.max_us = all.empty() ? 0 : static_cast<double>(all.back()) / 1000.0;
    }
    return r;
}

/// Messages per publisher for throughput runs (HERALD_BENCH_QUEUED_MESSAGES overrides the
/// total).
std::size_t throughput_messages_total();
/// The latency runs' total publish rate and duration.
inline constexpr std::int64_t latency_rate_per_second = 100000;
std::size_t latency_messages_total();

/// Runs `Impl` as one Google Benchmark iteration and reports msg/s and latency counters.
template <class Impl>
void bench_queued(benchmark::State& state, int publishers, int subscribers, std::size_t capacity,
                  bool latency) {
    const std::size_t total = latency ? latency_messages_total() : throughput_messages_total();
    const std::size_t per_publisher = total / static_cast<std::size_t>(publishers);
    const std::int64_t interval = latency ? 1000000000 / latency_rate_per_second * publishers : 0;
    RunResult r;
    for (auto _ : state) {
        r = run_queued<Impl>(publishers, subscribers, capacity, per_publisher, interval);
        state.SetIterationTime(r.seconds);
    }
    state.counters["deliveries_per_s"] = r.deliveries / r.seconds;
    state.counters["published_per_s"] =
        static_cast<double>(per_publisher * static_cast<std::size_t>(publishers)) / r.seconds;
    if (latency) {
        state.counters["p50_us"] = r.p50_us;
        state.counters["p99_us"] = r.p99_us;
        state.counters["p999_us"] = r.p999_us;
        state.counters["max_us"] = r.max_us;
    }
}

/// Registers one W4 run of `Impl`: n→n, throughput or latency.
template <class Impl>
void add_queued(const std::string& name, std::size_t capacity, int n, bool latency) {
    const std::string size = std::to_string(n);
    const std::string label =
        join({latency ? "W4.latency/" : "W4.throughput/", size, "to", size, "/", name});
    benchmark::RegisterBenchmark(label.c_str(), bench_queued<Impl>, n, n, capacity, latency)
        ->Iterations(1)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
}

/// herald's W4 runs for n→n (herald_queued.cpp).
void add_w4_herald(int n, bool latency);
/// herald's lossy overflow policies, 1→1 flat out (herald_queued.cpp).
void add_w4_herald_policies();

} // namespace bench
