// W4 for herald: queued subscriptions (`herald::queued`) whose handlers run on the broker's
// worker pool, one worker per subscriber, one pre-resolved publisher handle per publishing
// thread. Overflow::block with a long timeout makes the run lossless like the peers'.

#include "queued_driver.hpp"

#include <herald/herald.hpp>
#include <herald/queue.hpp>

#include <chrono>
#include <stdexcept>
#include <thread>
#include <utility>

namespace bench {
namespace {

const herald::Topic<Payload64> queued_topic{"w4.queued"};

herald::BrokerOptions options_for(int subscribers) {
    herald::BrokerOptions o;
    o.workers = static_cast<std::size_t>(subscribers);
    return o;
}

class HeraldQueued {
public:
    HeraldQueued(int publishers, int subscribers, std::size_t capacity, Receivers& receivers)
        : broker_(options_for(subscribers)) {
        for (int s = 0; s < subscribers; ++s) {
            herald::queued q;
            q.capacity = capacity;
            q.overflow = herald::Overflow::block;
            q.block_timeout = std::chrono::seconds(60);
            subscriptions_.push_back(broker_.subscribe(
                queued_topic, [&receivers, s](const Payload64& m) { receivers.deliver(s, m); },
                std::move(q)));
        }
        for (int p = 0; p < publishers; ++p) {
            publishers_.push_back(broker_.publisher(queued_topic));
        }
    }

    void send(int p, const Payload64& m) { publishers_[static_cast<std::size_t>(p)].publish(m); }

    void stop() {
        for (herald::Subscription& s : subscriptions_) {
            if (s.stats().dropped != 0) {
                throw std::runtime_error("herald W4: a queued subscription dropped messages");
            }
        }
    }

private:
    herald::Broker<> broker_;
    std::vector<herald::Subscription> subscriptions_;
    std::vector<herald::Broker<>::Publisher<Payload64>> publishers_;
};

/// One publisher flat out into one queued subscriber with a lossy overflow policy: how fast
/// publish returns and what share of the messages the subscriber still gets. No peer offers
/// these policies except ZeroMQ's silent drop-newest, which the lossless runs already cover.
void w4_policy(benchmark::State& state, herald::Overflow policy) {
    const std::size_t total = throughput_messages_total();
    double publish_seconds = 0;
    herald::SubscriptionStats final_stats;
    std::uint64_t delivered = 0;
    for (auto _ : state) {
        herald::Broker<> broker(options_for(1));
        std::atomic<std::uint64_t> received{0};
        herald::queued q;
        q.capacity = queued_capacity;
        q.overflow = policy;
        herald::Subscription sub = broker.subscribe(
            queued_topic,
            [&received](const Payload64&) { received.fetch_add(1, std::memory_order_relaxed); },
            std::move(q));
        auto publisher = broker.publisher(queued_topic);
        const std::int64_t start = now_ns();
        for (std::size_t i = 0; i < total; ++i) {
            publisher.publish(make_message(i));
        }
        publish_seconds = static_cast<double>(now_ns() - start) / 1e9;
        state.SetIterationTime(publish_seconds);
        while (sub.stats().queued != 0) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        final_stats = sub.stats();
        delivered = received.load();
    }
    state.counters["published_per_s"] = static_cast<double>(total) / publish_seconds;
    state.counters["delivered_share"] = static_cast<double>(delivered) / static_cast<double>(total);
    state.counters["dropped"] = static_cast<double>(final_stats.dropped);
}

} // namespace

void add_w4_herald(int n, bool latency) {
    add_queued<HeraldQueued>("herald", queued_capacity, n, latency);
}

void add_w4_herald_policies() {
    const std::pair<const char*, herald::Overflow> policies[] = {
        {"herald_drop_newest", herald::Overflow::drop_newest},
        {"herald_drop_oldest", herald::Overflow::drop_oldest},
        {"herald_conflate", herald::Overflow::conflate},
    };
    for (const auto& [name, policy] : policies) {
        benchmark::RegisterBenchmark(join({"W4.policy/1to1/", name}).c_str(), w4_policy, policy)
            ->Iterations(1)
            ->UseManualTime()
            ->Unit(benchmark::kMillisecond);
    }
}

} // namespace bench
