// W4 for herald: queued subscriptions (`herald::queued`) whose handlers run on the broker's
// worker pool, one worker per subscriber, one pre-resolved publisher handle per publishing
// thread. Overflow::block with a long timeout makes the run lossless like the peers'.

#include "queued_driver.hpp"

#include <herald/herald.hpp>
#include <herald/queue.hpp>

#include <chrono>
#include <stdexcept>

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

} // namespace

void add_w4_herald(int n, bool latency) {
    add_queued<HeraldQueued>("herald", queued_capacity, n, latency);
}

} // namespace bench
