// The Redis bridge when the server misbehaves: killed connections, a killed and restarted
// server, a stopped (SIGSTOP) server, a consumer too slow for the server's output buffer limit,
// and shutdown in every link state. Bounded waits only; no timing assertions.

#include "redis_fixture.hpp"
#include "test_catch.hpp"

#include <herald/herald.hpp>
#include <herald/redis.hpp>

#include <dirent.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using redis_test::eventually;

namespace {

herald::redis::Options fault_options(int port) {
    herald::redis::Options o;
    o.port = port;
    o.prefix = "f:";
    o.backoff.initial = 10ms;
    o.backoff.max = 160ms;
    o.backoff.jitter = 0.0;
    o.heartbeat_interval = 100ms;
    o.heartbeat_timeout = 400ms;
    o.connect_timeout = 500ms;
    return o;
}

// This process's threads. One thread is started and joined first: a sanitizer runtime that
// starts a background thread of its own at the first thread creation (ThreadSanitizer does)
// has then done so, and a count taken before the bridge compares with one taken after it.
std::size_t thread_count() {
    std::thread([] {}).join();
    std::size_t n = 0;
    if (DIR* d = ::opendir("/proc/self/task")) {
        while (dirent* e = ::readdir(d)) {
            n += e->d_name[0] != '.' ? 1 : 0;
        }
        ::closedir(d);
    }
    return n;
}

struct Gate {
    std::mutex m;
    std::condition_variable cv;
    bool open = false;
    void wait() {
        std::unique_lock lock(m);
        cv.wait(lock, [&] { return open; });
    }
    void release() {
        {
            std::lock_guard lock(m);
            open = true;
        }
        cv.notify_all();
    }
};

} // namespace

TEST_CASE("redis: CLIENT KILL TYPE pubsub -> reconnect, resubscribe, delivery resumes, counted") {
    redis_test::Server server;
    redis_test::Client raw(server.port());
    herald::Broker broker;
    herald::redis::Bridge bridge(broker, fault_options(server.port()),
                                 herald::redis::Distribution{}.channel("k").pattern("kp:*"));
    std::atomic<int> got{0};
    auto s1 = broker.subscribe("k", [&](const std::string&) { ++got; });
    auto s2 = broker.psubscribe("kp:*", [&](const std::string&) { ++got; });
    REQUIRE(bridge.flush(10s));
    CHECK(raw.integer({"CLIENT", "KILL", "TYPE", "pubsub"}) == 1);
    REQUIRE(eventually([&] { return bridge.stats().reconnects >= 1; }));
    REQUIRE(bridge.flush(10s));
    CHECK(raw.numsub("f:k") == 1);
    CHECK(raw.numpat() == 1);
    broker.publish("k", "again");
    broker.publish("kp:1", "again");
    REQUIRE(eventually([&] { return got == 2; }));
    const auto st = bridge.stats();
    CHECK(st.server_disconnects >= 1);
    CHECK(st.link_failures >= 1);
    CHECK(st.slow_consumer_disconnects == 0);
    CHECK(!st.last_error.empty());
}

TEST_CASE("redis: a server killed and restarted on the same port: growing delays, recovery, "
          "no leaked threads") {
    const std::size_t threads_before = thread_count();
    redis_test::Server server;
    {
        std::mutex m;
        std::vector<long long> delays;
        auto options = fault_options(server.port());
        options.on_state = [&](const herald::redis::StateChange& c) {
            if (c.state == herald::redis::LinkState::backing_off) {
                std::lock_guard lock(m);
                delays.push_back(c.next_delay.count());
            }
        };
        herald::Broker broker;
        herald::redis::Bridge bridge(broker, options, herald::redis::Distribution{}.channel("r"));
        std::atomic<int> got{0};
        auto s = broker.subscribe("r", [&](const std::string&) { ++got; });
        REQUIRE(bridge.flush(10s));
        server.kill();
        REQUIRE(eventually([&] {
            std::lock_guard lock(m);
            return delays.size() >= 6;
        }));
        {
            std::lock_guard lock(m);
            // jitter 0: 10, 20, 40, 80, 160, 160 ... ms
            for (std::size_t i = 1; i < delays.size(); ++i) {
                CHECK(delays[i] >= delays[i - 1]);
            }
            CHECK(delays[1] > delays[0]);
            CHECK(delays.back() == 160);
        }
        server.start();
        REQUIRE(bridge.flush(10s));
        {
            std::lock_guard lock(m);
            delays.clear();
        }
        broker.publish("r", "back");
        REQUIRE(eventually([&] { return got == 1; }));
        CHECK(bridge.stats().reconnects >= 1);
        CHECK(bridge.stats().connect_failures >= 5);
        // A good connection resets the backoff: the next failure waits the initial delay.
        server.kill();
        REQUIRE(eventually([&] {
            std::lock_guard lock(m);
            return !delays.empty();
        }));
        std::lock_guard lock(m);
        CHECK(delays.front() == 10);
    }
    CHECK(thread_count() == threads_before);
}

TEST_CASE("redis: publishes while disconnected are sent in order after the reconnect, up to the "
          "bound, the rest counted") {
    redis_test::Server server;
    auto options = fault_options(server.port());
    options.outbox_capacity = 100;
    options.overflow = herald::redis::Overflow::drop_newest;
    herald::Broker broker;
    herald::redis::Bridge bridge(broker, options, herald::redis::Distribution{}.channel("q"));
    std::mutex m;
    std::vector<int> got;
    auto s = broker.subscribe("q", [&](const std::string& v) {
        std::lock_guard lock(m);
        got.push_back(std::stoi(v));
    });
    REQUIRE(bridge.flush(10s));
    server.kill();
    REQUIRE(eventually([&] { return !bridge.stats().connected; }));
    for (int i = 0; i < 130; ++i) {
        CHECK(broker.publish("q", std::to_string(i)) == 0);
    }
    auto st = bridge.stats();
    CHECK(st.outbox_depth == 100);
    CHECK(st.dropped_overflow == 30);
    server.start();
    REQUIRE(bridge.flush(10s));
    REQUIRE(eventually([&] {
        std::lock_guard lock(m);
        return got.size() == 100;
    }));
    std::lock_guard lock(m);
    for (int i = 0; i < 100; ++i) {
        CHECK(got[static_cast<std::size_t>(i)] == i);
    }
    CHECK(bridge.stats().dropped_overflow == 30);
    CHECK(bridge.stats().outbox_high_water == 100);
}

TEST_CASE("redis: drop_oldest keeps the newest messages while disconnected") {
    redis_test::Server server;
    auto options = fault_options(server.port());
    options.outbox_capacity = 10;
    options.overflow = herald::redis::Overflow::drop_oldest;
    herald::Broker broker;
    herald::redis::Bridge bridge(broker, options, herald::redis::Distribution{}.channel("q"));
    std::mutex m;
    std::vector<int> got;
    auto s = broker.subscribe("q", [&](const std::string& v) {
        std::lock_guard lock(m);
        got.push_back(std::stoi(v));
    });
    REQUIRE(bridge.flush(10s));
    server.kill();
    REQUIRE(eventually([&] { return !bridge.stats().connected; }));
    auto dropped = bridge.publish_async("q", "first");
    for (int i = 0; i < 15; ++i) {
        broker.publish("q", std::to_string(i));
    }
    REQUIRE(dropped.wait_for(1s) == std::future_status::ready);
    CHECK_THROWS_AS(dropped.get(), herald::redis::message_dropped_error);
    server.start();
    REQUIRE(bridge.flush(10s));
    REQUIRE(eventually([&] {
        std::lock_guard lock(m);
        return got.size() == 10;
    }));
    std::lock_guard lock(m);
    CHECK(got.front() == 5);
    CHECK(got.back() == 14);
    CHECK(bridge.stats().dropped_overflow == 6);
}

TEST_CASE("redis: a stopped server (SIGSTOP) is detected by the heartbeat, then recovered from") {
    redis_test::Server server;
    herald::Broker broker;
    herald::redis::Bridge bridge(broker, fault_options(server.port()),
                                 herald::redis::Distribution{}.channel("h"));
    std::atomic<int> got{0};
    auto s = broker.subscribe("h", [&](const std::string&) { ++got; });
    REQUIRE(bridge.flush(10s));
    server.pause();
    // Bound: heartbeat_interval + heartbeat_timeout (500 ms here); waited for generously.
    REQUIRE(eventually([&] { return bridge.stats().heartbeat_timeouts >= 1; }));
    CHECK(!bridge.stats().connected);
    server.resume();
    REQUIRE(bridge.flush(10s));
    broker.publish("h", "alive");
    REQUIRE(eventually([&] { return got == 1; }));
}

TEST_CASE("redis: a consumer too slow for client-output-buffer-limit is disconnected, detected, "
          "counted and recovers") {
    redis_test::Server server;
    redis_test::Client raw(server.port());
    raw.command({"CONFIG", "SET", "client-output-buffer-limit", "pubsub 262144 0 0"});
    auto options = fault_options(server.port());
    options.inbound_capacity = 4;
    herald::Broker broker;
    herald::redis::Bridge bridge(broker, options, herald::redis::Distribution{}.channel("slow"));
    Gate gate;
    std::atomic<bool> after{false};
    auto s = broker.subscribe("slow", [&](const std::string& v) {
        if (v == "block") {
            gate.wait();
        }
        if (v == "after") {
            after = true;
        }
    });
    REQUIRE(bridge.flush(10s));
    raw.integer({"PUBLISH", "f:slow", "block"});
    const std::string chunk(64 * 1024, 'x');
    // Enough to fill the socket buffers and then the server's output buffer beyond 256 KiB.
    for (int i = 0; i < 600 && raw.numsub("f:slow") == 1; ++i) {
        raw.integer({"PUBLISH", "f:slow", chunk});
    }
    CHECK(raw.numsub("f:slow") == 0); // the server dropped the slow subscriber
    CHECK(bridge.stats().reader_pauses >= 1);
    gate.release();
    REQUIRE(eventually([&] { return bridge.stats().slow_consumer_disconnects == 1; }));
    REQUIRE(bridge.flush(10s));
    raw.integer({"PUBLISH", "f:slow", "after"});
    REQUIRE(eventually([&] { return after.load(); }));
}

TEST_CASE("redis: stop returns in every link state") {
    const std::size_t threads_before = thread_count();
    redis_test::Server server;
    auto options = fault_options(server.port());
    options.heartbeat_timeout = 60000ms; // a handshake that would wait a minute
    options.heartbeat_interval = 60000ms;
    options.backoff.initial = 60000ms;
    options.backoff.max = 60000ms;

    SECTION("connected") {
        herald::Broker broker;
        herald::redis::Bridge bridge(broker, options, herald::redis::Distribution{}.channel("s"));
        auto sub = broker.subscribe("s", [](const std::string&) {});
        REQUIRE(bridge.flush(10s));
        broker.publish("s", "x");
        bridge.stop();
        CHECK(bridge.stats().state == herald::redis::LinkState::stopped);
        CHECK_THROWS_AS(bridge.publish_async("s", "late"), herald::redis::bridge_stopped_error);
        CHECK(broker.publish("s", "local again") == 1);
    }
    SECTION("connecting: the server accepts but does not answer") {
        server.pause();
        herald::Broker broker;
        herald::redis::Bridge bridge(broker, options, herald::redis::Distribution{}.channel("s"));
        broker.publish("s", "queued");
        std::this_thread::sleep_for(50ms);
        CHECK(bridge.stats().state == herald::redis::LinkState::connecting);
        bridge.stop();
        CHECK(bridge.stats().dropped_shutdown == 1);
        server.resume();
    }
    SECTION("backing off") {
        server.kill();
        herald::Broker broker;
        herald::redis::Bridge bridge(broker, options, herald::redis::Distribution{}.channel("s"));
        REQUIRE(eventually(
            [&] { return bridge.stats().state == herald::redis::LinkState::backing_off; }));
        bridge.stop();
        CHECK(bridge.stats().state == herald::redis::LinkState::stopped);
    }
    CHECK(thread_count() == threads_before + 0);
}

TEST_CASE("redis: stop from a handler or from the state callback returns; the destructor joins") {
    redis_test::Server server;
    const std::size_t threads_before = thread_count();
    {
        herald::Broker broker;
        std::unique_ptr<herald::redis::Bridge> bridge;
        std::atomic<bool> stopped_inside{false};
        bridge = std::make_unique<herald::redis::Bridge>(
            broker, fault_options(server.port()), herald::redis::Distribution{}.channel("x"));
        auto sub = broker.subscribe("x", [&](const std::string&) {
            bridge->stop();
            stopped_inside = true;
        });
        REQUIRE(bridge->flush(10s));
        broker.publish("x", "stop now");
        REQUIRE(eventually([&] { return stopped_inside.load(); }));
        REQUIRE(
            eventually([&] { return bridge->stats().state == herald::redis::LinkState::stopped; }));
        bridge.reset();
    }
    {
        herald::Broker broker;
        std::atomic<herald::redis::Bridge*> self{nullptr};
        std::atomic<int> callbacks{0};
        auto options = fault_options(server.port());
        options.on_state = [&](const herald::redis::StateChange& c) {
            ++callbacks;
            if (herald::redis::Bridge* b = self.load();
                c.state == herald::redis::LinkState::connected && b != nullptr) {
                b->stop();
            }
        };
        herald::redis::Bridge bridge(broker, options, herald::redis::Distribution{}.channel("y"));
        self = &bridge;
        REQUIRE(eventually([&] {
            return bridge.stats().state == herald::redis::LinkState::stopped ||
                   bridge.stats().state == herald::redis::LinkState::connected;
        }));
        bridge.stop();
        CHECK(bridge.stats().state == herald::redis::LinkState::stopped);
        CHECK(callbacks >= 1);
    }
    CHECK(thread_count() == threads_before);
}
