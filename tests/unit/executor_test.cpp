// Unit tests of <herald/executor.hpp>: where a queued handler runs (the broker's workers, a
// user's executor, the caller's thread through polling) and ManualExecutor.
#include <herald/executor.hpp>

#include <herald/broker.hpp>
#include <herald/queue.hpp>

#include "test_catch.hpp"
#include "test_helpers.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using herald_test::ThreadPool;

TEST_CASE("executor: a default executor means the broker's workers; polled and user ones say "
          "which they are",
          "[executor]") {
    const herald::Executor workers;
    CHECK(workers.is_workers());
    CHECK_FALSE(workers.is_polled());
    CHECK_FALSE(workers.is_user());
    const herald::Executor polled = herald::Executor::polled();
    CHECK(polled.is_polled());
    CHECK_FALSE(polled.is_workers());
    CHECK_FALSE(polled.is_user());
    int submitted = 0;
    const herald::Executor user = [&](herald::Executor::Task task) {
        ++submitted;
        task();
    };
    CHECK(user.is_user());
    CHECK_FALSE(user.is_workers());
    int ran = 0;
    user.submit([&] { ++ran; });
    CHECK(submitted == 1);
    CHECK(ran == 1);
}

TEST_CASE("executor: Executor::of submits to anything with an execute(task) member, without "
          "running the task",
          "[executor]") {
    struct Recorder {
        std::vector<herald::Executor::Task> tasks;
        void execute(herald::Executor::Task task) { tasks.push_back(std::move(task)); }
    } recorder;
    const herald::Executor executor = herald::Executor::of(recorder);
    CHECK(executor.is_user());
    int ran = 0;
    executor.submit([&] { ++ran; });
    executor.submit([&] { ran += 10; });
    REQUIRE(recorder.tasks.size() == 2);
    CHECK(ran == 0);
    for (auto& task : recorder.tasks) {
        task();
    }
    CHECK(ran == 11);
}

TEST_CASE("executor: a ManualExecutor runs its tasks in order when told, and what is left when "
          "it is destroyed",
          "[executor]") {
    std::vector<int> order;
    {
        herald::ManualExecutor manual;
        CHECK_FALSE(manual.run_one());
        CHECK(manual.run_all() == 0);
        const herald::Executor executor = manual.executor();
        CHECK(executor.is_user());
        for (int i = 0; i < 3; ++i) {
            executor.submit([&order, i] { order.push_back(i); });
        }
        CHECK(manual.pending() == 3);
        CHECK(manual.run_one());
        CHECK(order == std::vector<int>{0});
        executor.submit([&order] { order.push_back(3); });
        CHECK(manual.run_all() == 3);
        CHECK(manual.pending() == 0);
        executor.submit([&order] { order.push_back(4); });
        CHECK(order == std::vector<int>{0, 1, 2, 3});
    }
    CHECK(order == std::vector<int>{0, 1, 2, 3, 4});
}

TEST_CASE("executor: a task run by a ManualExecutor may submit another, which run_all runs too",
          "[executor]") {
    herald::ManualExecutor manual;
    const herald::Executor executor = manual.executor();
    int ran = 0;
    executor.submit([&] {
        ++ran;
        executor.submit([&] { ++ran; });
    });
    CHECK(manual.run_all() == 2);
    CHECK(ran == 2);
}

TEST_CASE("executor: on the worker pool a handler sees each publisher's order and never runs "
          "concurrently with itself",
          "[queue][threads]") {
    herald::BrokerOptions options;
    options.workers = 2;
    herald::Broker<std::pair<int, int>> broker(options);
    constexpr int publishers = 2;
    constexpr int per_publisher = 20000;
    std::atomic<int> in_flight{0};
    std::atomic<bool> overlapped{false};
    std::vector<int> last(publishers, -1);
    bool in_order = true;
    std::atomic<int> received{0};
    herald::queued q;
    q.capacity = 1 << 16;
    auto sub = broker.subscribe(
        "ordered",
        [&](const std::pair<int, int>& m) {
            if (in_flight.fetch_add(1) != 0) {
                overlapped = true;
            }
            auto& l = last[static_cast<std::size_t>(m.first)];
            if (m.second != l + 1) {
                in_order = false;
            }
            l = m.second;
            in_flight.fetch_sub(1);
            received.fetch_add(1);
        },
        q);
    std::vector<std::thread> threads;
    for (int p = 0; p < publishers; ++p) {
        threads.emplace_back([&, p] {
            for (int i = 0; i < per_publisher; ++i) {
                broker.publish("ordered", std::pair<int, int>{p, i});
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    broker.shutdown(herald::ShutdownMode::drain);
    CHECK(received == publishers * per_publisher);
    CHECK(in_order);
    CHECK_FALSE(overlapped);
    const auto st = sub.stats();
    CHECK(st.delivered == static_cast<std::uint64_t>(publishers * per_publisher));
    CHECK(st.dropped == 0);
}

TEST_CASE("executor: a user executor runs the handler in order and never concurrently",
          "[queue][threads]") {
    ThreadPool pool(3);
    herald::Broker<int> broker;
    std::atomic<int> in_flight{0};
    std::atomic<bool> overlapped{false};
    int last = -1;
    bool in_order = true;
    std::atomic<int> received{0};
    herald::queued q;
    q.capacity = 100000;
    q.executor = herald::Executor::of(pool);
    auto sub = broker.subscribe(
        "n",
        [&](const int& v) {
            if (in_flight.fetch_add(1) != 0) {
                overlapped = true;
            }
            if (v != last + 1) {
                in_order = false;
            }
            last = v;
            in_flight.fetch_sub(1);
            received.fetch_add(1);
        },
        q);
    for (int i = 0; i < 50000; ++i) {
        broker.publish("n", i);
    }
    while (received.load() < 50000) {
        std::this_thread::yield();
    }
    CHECK(in_order);
    CHECK_FALSE(overlapped);
}

TEST_CASE("executor: a polled subscription runs on the caller's thread through poll, drain and "
          "wait_for",
          "[queue]") {
    herald::Broker broker;
    herald::queued q;
    q.executor = herald::Executor::polled();
    std::vector<std::string> got;
    const auto me = std::this_thread::get_id();
    auto sub = broker.subscribe(
        "p",
        [&](const std::string& s) {
            CHECK(std::this_thread::get_id() == me);
            got.push_back(s);
        },
        q);
    for (int i = 0; i < 5; ++i) {
        broker.publish("p", std::to_string(i));
    }
    CHECK(got.empty());
    CHECK(sub.drain(2) == 2);
    CHECK(got == std::vector<std::string>{"0", "1"});
    CHECK(sub.poll() == 3);
    CHECK(sub.poll() == 0);
    CHECK(sub.wait_for(1ms) == 0); // nothing came
    std::thread later([&] { broker.publish("p", "late"); });
    while (sub.wait_for(10ms) == 0) {
    }
    later.join();
    CHECK(got.back() == "late");
}

TEST_CASE("executor: a busy subscription lets another one run on a single worker between batches",
          "[queue][threads]") {
    herald::BrokerOptions options;
    options.workers = 1;
    herald::Broker broker(options);
    std::mutex mutex;
    std::condition_variable cv;
    bool other_published = false;
    std::atomic<bool> busy_started{false};
    std::atomic<int> busy_seen{0};
    std::atomic<int> busy_seen_when_other_ran{-1};
    herald::queued q;
    q.capacity = 4096;
    auto busy = broker.subscribe(
        "busy",
        [&](const std::string&) {
            if (busy_seen.fetch_add(1) == 0) {
                // Hold the only worker until the other subscription is waiting for it.
                busy_started = true;
                std::unique_lock lock(mutex);
                cv.wait(lock, [&] { return other_published; });
            }
        },
        q);
    auto other = broker.subscribe(
        "other", [&](const std::string&) { busy_seen_when_other_ran = busy_seen.load(); }, q);
    for (int i = 0; i < 2000; ++i) {
        broker.publish("busy", "x");
    }
    while (!busy_started) {
        std::this_thread::yield();
    }
    broker.publish("other", "y");
    {
        std::lock_guard lock(mutex);
        other_published = true;
    }
    cv.notify_all();
    while (busy_seen < 2000 || busy_seen_when_other_ran < 0) { // both on the worker, not
        std::this_thread::yield();                             // in shutdown's drain
    }
    CHECK(busy_seen == 2000);
    CHECK(busy_seen_when_other_ran > 0);
    CHECK(busy_seen_when_other_ran < 2000); // not made to wait for the whole backlog
}
