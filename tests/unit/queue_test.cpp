// Unit tests of <herald/queue.hpp>: queued delivery (DESIGN §5): bounded queues, overflow
// policies, lifetime. Where a queued handler runs is executor_test.cpp; mailboxes mailbox_test.cpp.
// Counts are exact: a manual executor or polling decides when handlers run, never a sleep.
#include <herald/herald.hpp>

#include "counting.hpp"
#include "test_catch.hpp"
#include "test_helpers.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

using namespace std::chrono_literals;

namespace {

herald::queued manual_queue(herald::ManualExecutor& executor, std::size_t capacity,
                            herald::Overflow overflow) {
    herald::queued q;
    q.capacity = capacity;
    q.overflow = overflow;
    q.executor = executor.executor();
    return q;
}

} // namespace

TEST_CASE("queue: the default queue holds 1024, drops the newest and runs on the workers",
          "[queue]") {
    static_assert(std::is_same_v<herald::queued, herald::QueueOptions>);
    static_assert(std::is_base_of_v<std::invalid_argument, herald::queue_options_error>);
    const herald::queued defaults;
    CHECK(defaults.capacity == 1024);
    CHECK(defaults.overflow == herald::Overflow::drop_newest);
    CHECK(defaults.block_timeout == 100ms);
    CHECK(defaults.executor.is_workers());
    CHECK_FALSE(static_cast<bool>(defaults.on_slow_consumer));
}

TEST_CASE("queue: a capacity of 0 is rejected with a clear error", "[queue]") {
    herald::Broker broker;
    herald::queued zero;
    zero.capacity = 0;
    try {
        auto s = broker.subscribe(
            "x", [](const std::string&) {}, zero);
        FAIL("capacity 0 accepted");
    } catch (const herald::queue_options_error& e) {
        CHECK(std::string(e.what()).find("capacity") != std::string::npos);
    }
    CHECK(broker.numsub("x") == 0);
}

TEST_CASE("queue: drop_newest refuses what does not fit, counted exactly", "[queue]") {
    herald::Broker broker;
    herald::ManualExecutor executor;
    std::vector<std::string> got;
    int episodes = 0;
    auto options = manual_queue(executor, 3, herald::Overflow::drop_newest);
    options.on_slow_consumer = [&](const herald::SlowConsumer& info) {
        CHECK(info.capacity == 3);
        CHECK(info.overflow == herald::Overflow::drop_newest);
        CHECK(info.channel == "jobs");
        ++episodes;
    };
    auto sub = broker.subscribe(
        "jobs", [&](const std::string& s) { got.push_back(s); }, options);
    std::size_t received = 0;
    for (int i = 1; i <= 10; ++i) {
        received += broker.publish("jobs", std::to_string(i));
    }
    CHECK(received == 3); // dropped messages are not counted as received
    CHECK(sub.stats().queued == 3);
    executor.run_all();
    CHECK(got == std::vector<std::string>{"1", "2", "3"});
    const auto st = sub.stats();
    CHECK(st.delivered == 3);
    CHECK(st.dropped == 7);
    CHECK(st.drops.newest == 7);
    CHECK(st.queued == 0);
    CHECK(st.high_water == 3);
    CHECK(st.delivered + st.dropped == 10);
    CHECK(episodes == 1); // once per overflow episode, not once per dropped message
    CHECK(broker.stats().dropped == 7);
    sub.unsubscribe();
    CHECK(broker.stats().dropped == 7); // an ended subscription's drops stay in the total
}

TEST_CASE("queue: drop_oldest keeps the newest messages", "[queue]") {
    herald::Broker broker;
    herald::ManualExecutor executor;
    std::vector<std::string> got;
    auto sub = broker.subscribe(
        "jobs", [&](const std::string& s) { got.push_back(s); },
        manual_queue(executor, 3, herald::Overflow::drop_oldest));
    std::size_t received = 0;
    for (int i = 1; i <= 10; ++i) {
        received += broker.publish("jobs", std::to_string(i));
    }
    CHECK(received == 10); // each new message was accepted; older ones made room
    executor.run_all();
    CHECK(got == std::vector<std::string>{"8", "9", "10"});
    const auto st = sub.stats();
    CHECK(st.drops.oldest == 7);
    CHECK(st.delivered + st.dropped == 10);
}

TEST_CASE("queue: conflate keeps only the latest message per channel, in publish order",
          "[queue]") {
    herald::Broker broker;
    herald::ManualExecutor executor;
    std::vector<std::string> got;
    auto sub = broker.psubscribe(
        "presence:*",
        [&](const herald::Message<std::string>& m) {
            got.push_back(std::string(m.channel) + "=" + m.payload);
        },
        manual_queue(executor, 100, herald::Overflow::conflate));
    broker.publish("presence:ann", "online");
    broker.publish("presence:bob", "online");
    broker.publish("presence:ann", "away");
    broker.publish("presence:cid", "online");
    broker.publish("presence:ann", "offline");
    executor.run_all();
    CHECK(got == std::vector<std::string>{"presence:bob=online", "presence:cid=online",
                                          "presence:ann=offline"});
    const auto st = sub.stats();
    CHECK(st.drops.conflated == 2);
    CHECK(st.delivered == 3);
    CHECK(st.delivered + st.dropped == 5);
}

TEST_CASE("queue: a full conflating queue drops its oldest channel for a new one", "[queue]") {
    herald::Broker broker;
    herald::ManualExecutor executor;
    std::vector<std::string> got;
    auto sub = broker.psubscribe(
        "p:*",
        [&](const herald::Message<std::string>& m) { got.push_back(std::string(m.channel)); },
        manual_queue(executor, 2, herald::Overflow::conflate));
    broker.publish("p:a", "1");
    broker.publish("p:b", "1");
    broker.publish("p:c", "1");
    executor.run_all();
    CHECK(got == std::vector<std::string>{"p:b", "p:c"});
    CHECK(sub.stats().drops.oldest == 1);
}

TEST_CASE("queue: block waits for room and then drops after the timeout", "[queue][threads]") {
    herald::Broker broker;
    herald::queued options;
    options.capacity = 2;
    options.overflow = herald::Overflow::block;
    options.block_timeout = 10s;
    options.executor = herald::Executor::polled();
    std::vector<std::string> got;
    auto sub = broker.subscribe(
        "b", [&](const std::string& s) { got.push_back(s); }, options);
    CHECK(broker.publish("b", "1") == 1);
    CHECK(broker.publish("b", "2") == 1);
    std::atomic<std::size_t> third{99};
    std::thread publisher([&] { third = broker.publish("b", "3"); }); // blocks: queue full
    // Consume until the blocked publisher got its message in.
    while (got.size() < 3) {
        sub.wait_for(10ms);
    }
    publisher.join();
    CHECK(third == 1);
    CHECK(got == std::vector<std::string>{"1", "2", "3"});

    // With a tiny timeout and nobody consuming, the message is dropped and counted.
    herald::queued impatient = options;
    impatient.block_timeout = 1ms;
    impatient.capacity = 1;
    auto slow = broker.subscribe(
        "c", [](const std::string&) {}, impatient);
    CHECK(broker.publish("c", "x") == 1);
    CHECK(broker.publish("c", "y") == 0);
    CHECK(slow.stats().drops.timed_out == 1);
}

TEST_CASE("queue: disconnect cancels the subscription, counts the queue and tells the hook",
          "[queue]") {
    herald::Broker broker;
    herald::ManualExecutor executor;
    std::vector<herald::ErrorKind> kinds;
    std::uint64_t reported_id = 0;
    broker.on_error([&](const herald::ErrorInfo& info) {
        kinds.push_back(info.kind);
        reported_id = info.subscription_id;
    });
    int handled = 0;
    auto sub = broker.subscribe(
        "feed", [&](const std::string&) { ++handled; },
        manual_queue(executor, 2, herald::Overflow::disconnect));
    CHECK(broker.publish("feed", "1") == 1);
    CHECK(broker.publish("feed", "2") == 1);
    CHECK(broker.publish("feed", "3") == 0);
    CHECK_FALSE(sub.active());
    CHECK(broker.numsub("feed") == 0);
    CHECK(broker.publish("feed", "4") == 0);
    executor.run_all();
    CHECK(handled == 0);
    REQUIRE(kinds == std::vector<herald::ErrorKind>{herald::ErrorKind::queue_disconnect});
    CHECK(reported_id == sub.id());
    const auto st = sub.stats();
    CHECK(st.drops.disconnected == 3); // the overflowing message and the two queued
    CHECK(st.delivered + st.dropped == 3);
    CHECK(broker.stats().dropped == 3);
}

TEST_CASE("queue: the slow-consumer callback fires once per overflow episode", "[queue]") {
    herald::Broker broker;
    herald::ManualExecutor executor;
    int episodes = 0;
    auto options = manual_queue(executor, 2, herald::Overflow::drop_newest);
    options.on_slow_consumer = [&](const herald::SlowConsumer&) { ++episodes; };
    auto sub = broker.subscribe(
        "e", [](const std::string&) {}, options);
    for (int i = 0; i < 5; ++i) {
        broker.publish("e", "x");
    }
    CHECK(episodes == 1);
    executor.run_all(); // the consumer caught up: the episode is over
    for (int i = 0; i < 5; ++i) {
        broker.publish("e", "x");
    }
    CHECK(episodes == 2);
    executor.run_all();
    CHECK(sub.stats().drops.newest == 6);
}

TEST_CASE("queue: other subscribers are unaffected by a slow one", "[queue]") {
    herald::Broker broker;
    herald::ManualExecutor executor;
    int fast = 0;
    auto slow = broker.subscribe(
        "s", [](const std::string&) {}, manual_queue(executor, 1, herald::Overflow::drop_newest));
    auto quick = broker.subscribe("s", [&](const std::string&) { ++fast; });
    for (int i = 0; i < 100; ++i) {
        broker.publish("s", "x");
    }
    CHECK(fast == 100);
    CHECK(slow.stats().drops.newest == 99);
}

TEST_CASE("queue: one payload allocation is shared by every queue of a publish", "[queue]") {
    herald::Broker<herald_test::CopyCounter> broker;
    herald::ManualExecutor executor;
    const herald::Topic<herald_test::CopyCounter> topic{"shared"};
    std::vector<const herald_test::CopyCounter*> seen;
    std::vector<herald::Subscription> subs;
    for (int i = 0; i < 10; ++i) {
        subs.push_back(broker.subscribe(
            topic, [&](const herald_test::CopyCounter& c) { seen.push_back(&c); },
            manual_queue(executor, 8, herald::Overflow::drop_newest)));
    }
    herald_test::CopyCounter::reset();
    CHECK(broker.publish(topic, herald_test::CopyCounter{"payload"}) == 10);
    CHECK(herald_test::CopyCounter::copies == 0); // an rvalue is moved once into the node
    CHECK(herald_test::CopyCounter::moves == 1);
    const herald_test::CopyCounter lvalue{"lvalue"};
    herald_test::CopyCounter::reset();
    CHECK(broker.publish(topic, lvalue) == 10);
    CHECK(herald_test::CopyCounter::copies == 1); // copied once, not once per queue
    executor.run_all();
    // Each subscription's task drains both messages: seen = A, B, A, B, ...
    REQUIRE(seen.size() == 20);
    for (std::size_t i = 2; i < 20; ++i) {
        CHECK(seen[i] == seen[i % 2]); // one object per publish, shared by all ten queues
    }
    CHECK(seen[0] != seen[1]);
}

TEST_CASE("queue: unsubscribing discards what is queued and counts it", "[queue]") {
    herald::Broker broker;
    herald::ManualExecutor executor;
    int handled = 0;
    auto sub = broker.subscribe(
        "d", [&](const std::string&) { ++handled; },
        manual_queue(executor, 10, herald::Overflow::drop_newest));
    for (int i = 0; i < 4; ++i) {
        broker.publish("d", "x");
    }
    const auto final_stats = sub.unsubscribe();
    executor.run_all();
    CHECK(handled == 0);
    CHECK(final_stats.drops.discarded == 4);
    CHECK(final_stats.delivered + final_stats.dropped == 4);
}

TEST_CASE("queue: destroying the handle while a worker runs the handler waits for it",
          "[queue][threads]") {
    herald::Broker broker;
    std::mutex m;
    std::condition_variable cv;
    bool entered = false, release = false;
    std::atomic<bool> finished{false};
    auto sub = std::make_optional(broker.subscribe(
        "slow",
        [&](const std::string&) {
            {
                std::unique_lock lock(m);
                entered = true;
                cv.notify_all();
                cv.wait(lock, [&] { return release; });
            }
            finished = true;
        },
        herald::queued{}));
    broker.publish("slow", "x");
    {
        std::unique_lock lock(m);
        cv.wait(lock, [&] { return entered; });
    }
    std::atomic<bool> finished_when_returned{false};
    std::atomic<bool> returned{false};
    std::thread destroyer([&] {
        sub.reset();
        finished_when_returned = finished.load();
        returned = true;
    });
    std::this_thread::sleep_for(50ms); // give a broken implementation the chance to return
    CHECK_FALSE(returned.load());
    {
        std::lock_guard lock(m);
        release = true;
    }
    cv.notify_all();
    destroyer.join();
    CHECK(finished_when_returned.load());
}

TEST_CASE("queue: a queued handler may unsubscribe itself", "[queue]") {
    herald::Broker broker;
    herald::ManualExecutor executor;
    int calls = 0;
    herald::Subscription self;
    self = broker.subscribe(
        "once",
        [&](const std::string&) {
            ++calls;
            self.unsubscribe();
        },
        manual_queue(executor, 10, herald::Overflow::drop_newest));
    broker.publish("once", "a");
    broker.publish("once", "b");
    executor.run_all();
    CHECK(calls == 1);
    CHECK(self.stats().drops.discarded == 1);
}

TEST_CASE("queue: shutdown drains or discards what is queued, and counts it", "[queue]") {
    SECTION("drain delivers everything before returning") {
        herald::ManualExecutor executor;
        int handled = 0;
        herald::Subscription sub;
        {
            herald::Broker broker;
            sub = broker.subscribe(
                "s", [&](const std::string&) { ++handled; },
                manual_queue(executor, 10, herald::Overflow::drop_newest));
            for (int i = 0; i < 5; ++i) {
                broker.publish("s", "x");
            }
            broker.shutdown(herald::ShutdownMode::drain);
            CHECK(handled == 5);
        }
        executor.run_all(); // the stale task finds nothing to do
        CHECK(handled == 5);
        CHECK(sub.stats().delivered == 5); // the broker is gone: the core keeps its counters
    }
    SECTION("discard drops everything and counts it") {
        herald::ManualExecutor executor;
        int handled = 0;
        herald::Broker broker;
        auto sub = broker.subscribe(
            "s", [&](const std::string&) { ++handled; },
            manual_queue(executor, 10, herald::Overflow::drop_newest));
        for (int i = 0; i < 5; ++i) {
            broker.publish("s", "x");
        }
        broker.shutdown(herald::ShutdownMode::discard);
        executor.run_all();
        CHECK(handled == 0);
        CHECK(sub.stats().drops.discarded == 5);
    }
    SECTION("the worker pool is joined after draining") {
        std::atomic<int> handled{0};
        herald::Broker broker;
        auto sub = broker.subscribe(
            "s", [&](const std::string&) { ++handled; }, herald::queued{});
        for (int i = 0; i < 1000; ++i) {
            broker.publish("s", "x");
        }
        broker.shutdown();
        CHECK(handled == 1000);
    }
}

TEST_CASE("queue: a queued envelope carries kind, pattern, channel, sequence and time", "[queue]") {
    herald::Broker broker;
    herald::ManualExecutor executor;
    std::vector<std::string> got;
    auto sub = broker.psubscribe(
        "alerts:*",
        [&](const herald::Message<std::string>& m) {
            CHECK(m.kind == herald::MessageKind::pmessage);
            CHECK(m.pattern == "alerts:*");
            CHECK(m.published_at.time_since_epoch().count() != 0);
            got.push_back(std::string(m.channel) + "#" + std::to_string(m.sequence));
        },
        manual_queue(executor, 10, herald::Overflow::drop_newest));
    broker.publish("alerts:cpu", "1");
    broker.publish("alerts:disk", "2");
    executor.run_all();
    CHECK(got == std::vector<std::string>{"alerts:cpu#1", "alerts:disk#2"});
}

TEST_CASE("queue: a single_threaded broker takes polled queues and rejects worker threads",
          "[queue]") {
    herald::Broker<std::string, herald::single_threaded> broker;
    CHECK_THROWS_AS(broker.subscribe(
                        "x", [](const std::string&) {}, herald::queued{}),
                    herald::queue_options_error);
    herald::queued q;
    q.executor = herald::Executor::polled();
    int calls = 0;
    herald::Subscription self;
    self = broker.subscribe(
        "x",
        [&](const std::string&) {
            ++calls;
            self.unsubscribe(); // safe: reclamation waits for the handler
        },
        q);
    broker.publish("x", "1");
    broker.publish("x", "2");
    CHECK(self.poll() == 1);
    CHECK(calls == 1);
}

TEST_CASE("queue: a handler that throws on a worker is isolated and counted", "[queue]") {
    herald::Broker broker;
    herald::ManualExecutor executor;
    std::vector<std::string> errors;
    broker.on_error([&](const herald::ErrorInfo& info) { errors.emplace_back(info.channel); });
    int ok = 0;
    auto sub = broker.subscribe(
        "t",
        [&](const std::string& s) {
            if (s == "bad") {
                throw std::runtime_error("bad");
            }
            ++ok;
        },
        manual_queue(executor, 10, herald::Overflow::drop_newest));
    broker.publish("t", "good");
    broker.publish("t", "bad");
    broker.publish("t", "good");
    executor.run_all();
    CHECK(ok == 2); // the message after the failure is still delivered
    CHECK(errors == std::vector<std::string>{"t"});
    const auto st = sub.stats();
    CHECK(st.errors == 1);
    CHECK(st.delivered == 2);
}

TEST_CASE("queue: the publish time reaches envelope receivers even when an earlier queue of the "
          "same publish did not need it",
          "[queue]") {
    herald::Broker broker;
    herald::ManualExecutor executor;
    int bare = 0;
    std::vector<std::chrono::system_clock::time_point> stamps;
    // Exact subscribers are served first: this queue builds the shared node.
    auto first = broker.subscribe(
        "t", [&](const std::string&) { ++bare; },
        manual_queue(executor, 4, herald::Overflow::drop_newest));
    auto second = broker.psubscribe(
        "t*", [&](const herald::Message<std::string>& m) { stamps.push_back(m.published_at); },
        manual_queue(executor, 4, herald::Overflow::drop_newest));
    auto mailbox = broker.psubscribe("?", herald::queued{});
    const auto before = std::chrono::system_clock::now();
    CHECK(broker.publish("t", "x") == 3);
    executor.run_all();
    CHECK(bare == 1);
    REQUIRE(stamps.size() == 1);
    CHECK(stamps[0] >= before);
    auto m = mailbox.try_receive();
    REQUIRE(m.has_value());
    CHECK(m->published_at == stamps[0]); // one publish, one time
}

TEST_CASE("queue: steady queued publishing allocates nothing once node memory is recycled",
          "[queue]") {
    struct Reading {
        std::uint64_t sequence;
        double value;
    };
    herald::Broker broker;
    const herald::Topic<Reading> topic{"sensors:steady"};
    herald::queued q;
    q.capacity = 64;
    q.executor = herald::Executor::polled();
    std::uint64_t sum = 0;
    auto sub = broker.subscribe(
        topic, [&](const Reading& r) { sum += r.sequence; }, q);
    auto publisher = broker.publisher(topic);
    const auto round = [&](std::uint64_t first) {
        for (std::uint64_t i = first; i < first + 32; ++i) {
            publisher.publish(Reading{i, 1.0});
        }
        sub.poll();
    };
    round(0); // the first round fills this thread's node memory
    herald_test::AllocationCounter::start();
    for (std::uint64_t r = 1; r <= 100; ++r) {
        round(r * 32);
    }
    const std::size_t allocations = herald_test::AllocationCounter::stop();
    CHECK(allocations == 0);
    CHECK(sub.stats().delivered == 101 * 32);
    CHECK(sum == (101 * 32) * (101 * 32 - 1) / 2);
}

TEST_CASE("queue: queued messages outlive the thread that published them", "[queue][threads]") {
    herald::Broker broker;
    herald::queued q;
    q.capacity = 1000;
    q.executor = herald::Executor::polled();
    std::vector<std::string> got;
    auto sub = broker.subscribe(
        "outlive", [&](const std::string& s) { got.push_back(s); }, q);
    for (int t = 0; t < 3; ++t) {
        std::thread([&broker, t] {
            for (int i = 0; i < 100; ++i) {
                broker.publish("outlive", std::to_string(t * 100 + i));
            }
        }).join();
        if (t == 1) {
            sub.drain(50); // some come back while their thread is gone, some later
        }
    }
    sub.poll();
    REQUIRE(got.size() == 300);
    for (int i = 0; i < 300; ++i) {
        CHECK(got[static_cast<std::size_t>(i)] == std::to_string(i));
    }
}

TEST_CASE("queue: an over-aligned payload keeps its alignment in the queue", "[queue]") {
    struct alignas(64) Wide {
        int value;
    };
    herald::Broker broker;
    const herald::Topic<Wide> topic{"wide"};
    herald::queued q;
    q.executor = herald::Executor::polled();
    std::vector<int> got;
    auto sub = broker.subscribe(
        topic,
        [&](const Wide& w) {
            CHECK(reinterpret_cast<std::uintptr_t>(&w) % 64 == 0);
            got.push_back(w.value);
        },
        q);
    for (int i = 0; i < 4; ++i) {
        broker.publish(topic, Wide{i});
    }
    sub.poll();
    CHECK(got == std::vector<int>{0, 1, 2, 3});
}

TEST_CASE("queue: a queue of any capacity keeps order and its bound across many wrap-arounds",
          "[queue]") {
    for (const std::size_t capacity : {1U, 2U, 3U, 5U, 8U, 10U, 64U}) {
        herald::Broker broker;
        const herald::Topic<int> topic{"wrap"};
        herald::queued q;
        q.capacity = capacity;
        q.executor = herald::Executor::polled();
        std::vector<int> got;
        auto sub = broker.subscribe(
            topic, [&](const int& v) { got.push_back(v); }, q);
        int next = 0;
        std::vector<int> expected;
        std::uint64_t dropped = 0;
        for (int round = 0; round < 50; ++round) {
            const std::size_t burst = (static_cast<std::size_t>(round) % (capacity + 2)) + 1;
            for (std::size_t i = 0; i < burst; ++i, ++next) {
                if (i < capacity) {
                    expected.push_back(next);
                } else {
                    ++dropped;
                }
                broker.publish(topic, next);
            }
            CHECK(sub.stats().queued == std::min(burst, capacity));
            sub.poll();
        }
        CHECK(got == expected);
        CHECK(sub.stats().dropped == dropped);
    }
}
