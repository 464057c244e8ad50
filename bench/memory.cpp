// herald_bench_memory: W6. Bytes per subscription at 10^6 subscriptions (one channel, and one
// channel each) and heap allocations per inline publish, measured by replacing the global
// allocator with one that counts requested bytes and calls. Only what the library itself
// allocates is counted: storage for the user's handles is reserved before the baseline.
//
// Usage: herald_bench_memory [--subscriptions=N] [--json=PATH]

#include "common.hpp"
#include "redis_server.hpp"

#if HERALD_BENCH_WITH_HERALD
#include <herald/herald.hpp>
#endif

#include <boost/signals2/signal.hpp>
#include <sigc++/sigc++.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

// ---- the counting allocator -------------------------------------------------------------

namespace {

std::atomic<long long> live_bytes{0}; // bytes requested and not yet freed
std::atomic<long long> live_heap{0};  // the same blocks as glibc malloc would hold them
std::atomic<long long> allocations{0};

/// What glibc's malloc holds for a request of n bytes on a 64-bit machine: the request plus
/// its 8-byte size field, rounded up to 16, at least 32. The figures peers publish (and the
/// targets) include this overhead; the requested bytes are reported beside them.
constexpr long long heap_footprint(std::size_t n) noexcept {
    const std::size_t chunk = (n + 8 + 15) / 16 * 16;
    return static_cast<long long>(chunk < 32 ? 32 : chunk);
}

// Each block carries its requested size in a header as wide as its alignment.
void* counted_alloc(std::size_t n, std::size_t align) {
    const std::size_t header = align < 16 ? 16 : align;
    void* base = align <= 16 ? std::malloc(n + header)
                             : std::aligned_alloc(align, (n + header + align - 1) / align * align);
    if (base == nullptr) {
        return nullptr;
    }
    auto* user = static_cast<char*>(base) + header;
    reinterpret_cast<std::size_t*>(user)[-1] = n;
    live_bytes.fetch_add(static_cast<long long>(n), std::memory_order_relaxed);
    live_heap.fetch_add(heap_footprint(n), std::memory_order_relaxed);
    allocations.fetch_add(1, std::memory_order_relaxed);
    return user;
}

void counted_free(void* p, std::size_t align) noexcept {
    if (p == nullptr) {
        return;
    }
    const std::size_t header = align < 16 ? 16 : align;
    const std::size_t n = reinterpret_cast<std::size_t*>(p)[-1];
    live_bytes.fetch_sub(static_cast<long long>(n), std::memory_order_relaxed);
    live_heap.fetch_sub(heap_footprint(n), std::memory_order_relaxed);
    std::free(static_cast<char*>(p) - header);
}

void* must(void* p) {
    if (p == nullptr) {
        throw std::bad_alloc();
    }
    return p;
}

} // namespace

void* operator new(std::size_t n) {
    return must(counted_alloc(n, 16));
}
void* operator new[](std::size_t n) {
    return must(counted_alloc(n, 16));
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    return counted_alloc(n, 16);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
    return counted_alloc(n, 16);
}
void* operator new(std::size_t n, std::align_val_t a) {
    return must(counted_alloc(n, static_cast<std::size_t>(a)));
}
void* operator new[](std::size_t n, std::align_val_t a) {
    return must(counted_alloc(n, static_cast<std::size_t>(a)));
}
void operator delete(void* p) noexcept {
    counted_free(p, 16);
}
void operator delete[](void* p) noexcept {
    counted_free(p, 16);
}
void operator delete(void* p, std::size_t) noexcept {
    counted_free(p, 16);
}
void operator delete[](void* p, std::size_t) noexcept {
    counted_free(p, 16);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
    counted_free(p, 16);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
    counted_free(p, 16);
}
void operator delete(void* p, std::align_val_t a) noexcept {
    counted_free(p, static_cast<std::size_t>(a));
}
void operator delete[](void* p, std::align_val_t a) noexcept {
    counted_free(p, static_cast<std::size_t>(a));
}
void operator delete(void* p, std::size_t, std::align_val_t a) noexcept {
    counted_free(p, static_cast<std::size_t>(a));
}
void operator delete[](void* p, std::size_t, std::align_val_t a) noexcept {
    counted_free(p, static_cast<std::size_t>(a));
}

// ---- measurements -------------------------------------------------------------------------

namespace {

using bench::Payload64;

struct Row {
    std::string workload;  // "W6.bytes_one_channel", "W6.bytes_channel_each", "W6.allocs_publish"
    std::string name;      // implementation
    double value;          // heap bytes per subscription, or allocations per publish
    double requested;      // requested bytes per subscription
    double allocs_per_sub; // allocations per subscription (bytes rows), or 0
    std::size_t count;     // subscriptions (or publishes) measured
    double seconds;        // time to subscribe them all
    std::string note;
};

std::vector<Row> rows;

class Meter {
public:
    Meter()
        : bytes_(live_bytes.load()), heap_(live_heap.load()), calls_(allocations.load()),
          start_(std::chrono::steady_clock::now()) {}
    double bytes() const { return static_cast<double>(live_bytes.load() - bytes_); }
    double heap() const { return static_cast<double>(live_heap.load() - heap_); }
    double calls() const { return static_cast<double>(allocations.load() - calls_); }
    double seconds() const {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    }

private:
    long long bytes_;
    long long heap_;
    long long calls_;
    std::chrono::steady_clock::time_point start_;
};

void record_bytes(const std::string& workload, const std::string& name, const Meter& m,
                  std::size_t n, double seconds, std::string note = {}, double calls = -1) {
    const auto count = static_cast<double>(n);
    const double allocs = (calls < 0 ? m.calls() : calls) / count;
    rows.push_back(
        {workload, name, m.heap() / count, m.bytes() / count, allocs, n, seconds, std::move(note)});
    std::printf("%-24s %-28s %8.1f B/sub heap %8.1f B/sub requested %6.2f allocs/sub  "
                "(n=%zu, %.2f s) %s\n",
                workload.c_str(), name.c_str(), m.heap() / count, m.bytes() / count, allocs, n,
                seconds, rows.back().note.c_str());
    std::fflush(stdout);
}

void record_allocs(const std::string& name, double per_publish, std::size_t publishes) {
    rows.push_back({"W6.allocs_per_publish", name, per_publish, 0, 0, publishes, 0, {}});
    std::printf("%-24s %-28s %10.4f allocs/publish (n=%zu)\n", "W6.allocs_per_publish",
                name.c_str(), per_publish, publishes);
    std::fflush(stdout);
}

/// Allocations per call of `publish` in steady state (after a warm-up).
template <class F>
double allocs_per_publish(F&& publish, std::size_t n) {
    for (std::size_t i = 0; i < 1000; ++i) {
        publish();
    }
    const long long before = allocations.load();
    for (std::size_t i = 0; i < n; ++i) {
        publish();
    }
    return static_cast<double>(allocations.load() - before) / static_cast<double>(n);
}

std::uint64_t sink = 0;
auto payload_handler() {
    return [s = &sink](const Payload64& p) { bench::consume(s, p); };
}
auto string_handler() {
    return [s = &sink](const std::string& p) { bench::consume(s, p); };
}

// -- one channel, n subscribers ------------------------------------------------------------

void one_channel_floor(std::size_t n) {
    std::vector<std::function<void(const Payload64&)>>* handlers = nullptr;
    handlers = new std::vector<std::function<void(const Payload64&)>>();
    Meter m;
    for (std::size_t i = 0; i < n; ++i) {
        handlers->push_back(payload_handler());
    }
    record_bytes("W6.bytes_one_channel", "vector_floor", m, n, m.seconds());
    delete handlers;
}

void one_channel_boost(std::size_t n) {
    std::vector<boost::signals2::connection> handles;
    handles.reserve(n);
    auto* signal = new boost::signals2::signal<void(const Payload64&)>();
    Meter m;
    for (std::size_t i = 0; i < n; ++i) {
        handles.push_back(signal->connect(payload_handler()));
    }
    record_bytes("W6.bytes_one_channel", "boost_signals2", m, n, m.seconds());
    handles.clear();
    delete signal;
}

void one_channel_sigc(std::size_t n) {
    std::vector<sigc::connection> handles;
    handles.reserve(n);
    auto* signal = new sigc::signal<void(const Payload64&)>();
    Meter m;
    for (std::size_t i = 0; i < n; ++i) {
        handles.push_back(signal->connect(payload_handler()));
    }
    record_bytes("W6.bytes_one_channel", "sigc++", m, n, m.seconds());
    handles.clear();
    delete signal;
}

// -- one channel each -----------------------------------------------------------------------

void channel_each_floor(const std::vector<std::string>& names) {
    using Map =
        std::unordered_map<std::string, std::vector<std::function<void(const std::string&)>>>;
    auto* map = new Map();
    Meter m;
    for (const std::string& name : names) {
        (*map)[name].push_back(string_handler());
    }
    record_bytes("W6.bytes_channel_each", "unordered_map_floor", m, names.size(), m.seconds());
    delete map;
}

void channel_each_redis(const std::vector<std::string>& names) {
    bench::RedisServer* server = bench::RedisServer::instance();
    if (server == nullptr) {
        std::printf("redis: skipped (%s)\n", bench::RedisServer::error().c_str());
        return;
    }
    bench::RedisConnection admin = server->connect();
    bench::RedisConnection subscriber = server->connect();
    const long long before = bench::redis_used_memory(admin.get());
    const auto start = std::chrono::steady_clock::now();
    bench::redis_batched(subscriber.get(), "SUBSCRIBE", names);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const long long after = bench::redis_used_memory(admin.get());
    const double per = static_cast<double>(after - before) / static_cast<double>(names.size());
    rows.push_back({"W6.bytes_channel_each", "redis_server", per, per, 0, names.size(), seconds,
                    "server used_memory delta"});
    std::printf("%-24s %-28s %10.1f B/sub (server used_memory delta, n=%zu, %.2f s)\n",
                "W6.bytes_channel_each", "redis_server", per, names.size(), seconds);
}

void publish_allocs_peers(std::size_t publishes) {
    Payload64 p{};
    {
        std::vector<std::function<void(const Payload64&)>> handlers(10, payload_handler());
        record_allocs("vector_floor",
                      allocs_per_publish(
                          [&] {
                              ++p.words[0];
                              for (auto& h : handlers) {
                                  h(p);
                              }
                          },
                          publishes),
                      publishes);
    }
    {
        sigc::signal<void(const Payload64&)> signal;
        std::vector<sigc::connection> keep;
        for (int i = 0; i < 10; ++i) {
            keep.emplace_back(signal.connect(payload_handler()));
        }
        record_allocs("sigc++", allocs_per_publish([&] { signal.emit(p); }, publishes), publishes);
    }
    {
        boost::signals2::signal<void(const Payload64&)> signal;
        std::vector<boost::signals2::scoped_connection> keep;
        for (int i = 0; i < 10; ++i) {
            keep.emplace_back(signal.connect(payload_handler()));
        }
        record_allocs("boost_signals2", allocs_per_publish([&] { signal(p); }, publishes),
                      publishes);
    }
}

#if HERALD_BENCH_WITH_HERALD

template <class Policy>
void one_channel_herald(std::size_t n, const std::string& name) {
    std::vector<herald::Subscription> handles;
    handles.reserve(n);
    auto* broker = new herald::Broker<std::string, Policy>();
    const herald::Topic<Payload64> topic{"w6.one"};
    Meter m;
    for (std::size_t i = 0; i < n; ++i) {
        handles.push_back(broker->subscribe(topic, payload_handler()));
    }
    const double seconds = m.seconds();
    const double calls = m.calls();
    record_bytes("W6.bytes_one_channel", name, m, n, seconds,
                 "right after the last subscribe: includes replaced lists awaiting reclamation");
    // Replaced subscriber lists are freed in batches once no reader can hold them; churn on
    // another channel drives reclamation so the steady-state figure shows too.
    const herald::Topic<Payload64> other{"w6.settle"};
    for (int i = 0; i < 10000; ++i) {
        broker->subscribe(other, payload_handler()).unsubscribe();
    }
    record_bytes("W6.bytes_one_channel", name + " (settled)", m, n, seconds,
                 "after 10,000 subscribe/unsubscribe pairs elsewhere let reclamation run", calls);
    handles.clear();
    delete broker;
}

template <class Policy>
void channel_each_herald(const std::vector<std::string>& names, const std::string& name) {
    std::vector<herald::Subscription> handles;
    handles.reserve(names.size());
    auto* broker = new herald::Broker<std::string, Policy>();
    Meter m;
    for (const std::string& channel : names) {
        handles.push_back(broker->subscribe(channel, string_handler()));
    }
    record_bytes("W6.bytes_channel_each", name, m, names.size(), m.seconds());
    handles.clear();
    delete broker;
}

void publish_allocs_herald(std::size_t publishes) {
    Payload64 p{};
    const herald::Topic<Payload64> topic{"w6.publish"};
    {
        herald::Broker<> broker;
        std::vector<herald::Subscription> keep;
        for (int i = 0; i < 10; ++i) {
            keep.push_back(broker.subscribe(topic, payload_handler()));
        }
        auto publisher = broker.publisher(topic);
        record_allocs("herald publisher (thread_safe)",
                      allocs_per_publish([&] { publisher.publish(p); }, publishes), publishes);
        record_allocs("herald publish(topic)",
                      allocs_per_publish([&] { broker.publish(topic, p); }, publishes), publishes);
    }
    {
        herald::Broker<std::string, herald::single_threaded> broker;
        std::vector<herald::Subscription> keep;
        for (int i = 0; i < 10; ++i) {
            keep.push_back(broker.subscribe(topic, payload_handler()));
        }
        auto publisher = broker.publisher(topic);
        record_allocs("herald publisher (single_threaded)",
                      allocs_per_publish([&] { publisher.publish(p); }, publishes), publishes);
    }
    {
        herald::Broker<> broker;
        std::vector<herald::Subscription> keep;
        for (int i = 0; i < 10; ++i) {
            keep.push_back(
                broker.subscribe(topic, [s = &sink](const herald::Message<Payload64>& m) {
                    bench::consume(s, m.payload);
                }));
        }
        record_allocs("herald publish(topic), Message<T> handler",
                      allocs_per_publish([&] { broker.publish(topic, p); }, publishes), publishes);
    }
    {
        herald::Broker<> broker;
        std::vector<herald::Subscription> keep;
        const std::string payload = bench::string_payload();
        for (std::size_t i = 0; i < 1000; ++i) {
            keep.push_back(broker.subscribe(bench::channel_name(i), string_handler()));
            keep.push_back(broker.psubscribe(bench::sensor_glob(i), string_handler()));
        }
        for (const std::string& broad : bench::broad_globs()) {
            keep.push_back(broker.psubscribe(broad, string_handler()));
        }
        const std::string channel = bench::channel_name(42);
        const std::string sensor = bench::sensor_channel(42, ':');
        record_allocs("herald publish(string channel)",
                      allocs_per_publish([&] { broker.publish(channel, payload); }, publishes),
                      publishes);
        record_allocs("herald publish(glob patterns)",
                      allocs_per_publish([&] { broker.publish(sensor, payload); }, publishes),
                      publishes);
    }
}

#endif

void write_json(const std::string& path) {
    std::ofstream out(path);
    out << "{\"rows\": [\n";
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const Row& r = rows[i];
        out << "  {\"workload\": \"" << r.workload << "\", \"name\": \"" << r.name
            << "\", \"value\": " << r.value << ", \"requested\": " << r.requested
            << ", \"allocs_per_sub\": " << r.allocs_per_sub << ", \"count\": " << r.count
            << ", \"seconds\": " << r.seconds << ", \"note\": \"" << r.note << "\"}"
            << (i + 1 < rows.size() ? "," : "") << "\n";
    }
    out << "]}\n";
}

} // namespace

int main(int argc, char** argv) {
    std::size_t n = 1000000;
    std::size_t one_channel_herald_n = n;
    (void)one_channel_herald_n; // unused without herald
    std::string json;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg.rfind("--subscriptions=", 0) == 0) {
            n = std::stoull(arg.substr(16));
            one_channel_herald_n = n;
        } else if (arg.rfind("--herald-one-channel=", 0) == 0) {
            one_channel_herald_n = std::stoull(arg.substr(21));
        } else if (arg.rfind("--json=", 0) == 0) {
            json = arg.substr(7);
        } else {
            std::fprintf(stderr,
                         "usage: %s [--subscriptions=N] [--herald-one-channel=N] [--json=PATH]\n",
                         argv[0]);
            return 2;
        }
    }
    std::vector<std::string> names;
    names.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        names.push_back(bench::channel_name(i));
    }

#if HERALD_BENCH_WITH_HERALD
    one_channel_herald<herald::thread_safe>(one_channel_herald_n, "herald");
    one_channel_herald<herald::single_threaded>(one_channel_herald_n, "herald single_threaded");
#endif
    one_channel_floor(n);
    one_channel_sigc(n);
    one_channel_boost(n);
#if HERALD_BENCH_WITH_HERALD
    channel_each_herald<herald::thread_safe>(names, "herald");
#endif
    channel_each_floor(names);
    channel_each_redis(names);
    const std::size_t publishes = 100000;
#if HERALD_BENCH_WITH_HERALD
    publish_allocs_herald(publishes);
#endif
    publish_allocs_peers(publishes);
    if (!json.empty()) {
        write_json(json);
    }
    return 0;
}
