// W2 and W3 against Redis pub/sub over loopback: one subscriber connection holding every
// SUBSCRIBE (W2) or PSUBSCRIBE (W3), one publisher connection. One iteration is a PUBLISH
// round trip plus reading every message it delivered on the subscriber connection, so the
// time covers the whole delivery, as herald's inline publish does.

#include "common.hpp"
#include "redis_server.hpp"
#include "workloads.hpp"

#include <stdexcept>
#include <string>

namespace bench {
namespace {

struct RedisFixture {
    RedisConnection subscriber;
    RedisConnection publisher;
    std::vector<std::string> channels;
    std::vector<std::string> missing;
    std::vector<std::uint32_t> order;
};

std::shared_ptr<RedisFixture> build(std::size_t n, bool patterns) {
    RedisServer* server = RedisServer::instance();
    if (server == nullptr) {
        return nullptr;
    }
    auto f = std::make_shared<RedisFixture>();
    f->subscriber = server->connect();
    f->publisher = server->connect();
    f->order = random_indexes(n);
    std::vector<std::string> subscriptions;
    subscriptions.reserve(n + 3);
    for (std::size_t i = 0; i < n; ++i) {
        if (patterns) {
            subscriptions.push_back(sensor_glob(i));
            f->channels.push_back(sensor_channel(i, ':'));
        } else {
            subscriptions.push_back(channel_name(i));
            f->channels.push_back(channel_name(i));
            f->missing.push_back(missing_name(i));
        }
    }
    if (patterns) {
        for (const std::string& broad : broad_globs()) {
            subscriptions.push_back(broad);
        }
    }
    redis_batched(f->subscriber.get(), patterns ? "PSUBSCRIBE" : "SUBSCRIBE", subscriptions);
    return f;
}

void w_redis(benchmark::State& state, std::size_t n, bool patterns, bool existing) {
    RedisFixture* f = nullptr;
    try {
        f = &cached_fixture<RedisFixture>(n * 2 + (patterns ? 1 : 0),
                                          [n, patterns] { return build(n, patterns); });
    } catch (const std::exception& e) {
        state.SkipWithError(e.what());
        return;
    }
    if (f == nullptr || !f->subscriber) {
        state.SkipWithError(join({"redis-server unavailable: ", RedisServer::error()}).c_str());
        return;
    }
    const std::vector<std::string>& targets = existing ? f->channels : f->missing;
    const std::string& payload = string_payload();
    std::size_t i = 0;
    long long received = 0;
    for (auto _ : state) {
        const std::string& channel = targets[f->order[i++ & random_mask]];
        const long long count = redis_integer(f->publisher.get(), {"PUBLISH", channel, payload});
        redis_read_messages(f->subscriber.get(), count);
        received += count;
    }
    state.counters["receivers_per_publish"] =
        static_cast<double>(received) / static_cast<double>(state.iterations());
}

} // namespace

void add_w2_redis(std::size_t n) {
    const std::string size = std::to_string(n);
    benchmark::RegisterBenchmark(join({"W2.routing/", size, "/redis_loopback"}).c_str(), w_redis, n,
                                 false, true)
        ->UseRealTime();
    benchmark::RegisterBenchmark(join({"W2.no_subscriber/", size, "/redis_loopback"}).c_str(),
                                 w_redis, n, false, false)
        ->UseRealTime();
}

void add_w3_redis(std::size_t n) {
    benchmark::RegisterBenchmark(join({"W3.glob/", std::to_string(n), "/redis_psubscribe"}).c_str(),
                                 w_redis, n, true, true)
        ->UseRealTime();
}

} // namespace bench
