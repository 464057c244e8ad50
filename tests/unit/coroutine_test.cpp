// Unit tests of <herald/coroutine.hpp>: co_await on a mailbox and on a polled subscription,
// where the coroutine resumes, timeouts, the end of the subscription, and a publish racing
// the suspension.
#include <herald/coroutine.hpp>

#include <herald/broker.hpp>
#include <herald/executor.hpp>
#include <herald/queue.hpp>

#include "test_catch.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <coroutine>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

// The smallest coroutine type the tests need: starts at once, frees itself at the end, and
// sets `done` then. herald itself asks for no coroutine type.
struct Eager {
    struct promise_type {
        Eager get_return_object() noexcept { return {}; }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_never final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { std::terminate(); }
    };
};

// The coroutines below take their executor by value: the tests pass `manual.executor()`, a
// temporary of the calling statement, and a coroutine's reference parameter bound to it would
// dangle once the coroutine has suspended and that statement has ended.

herald::queued polled_queue(std::size_t capacity) {
    herald::queued q;
    q.capacity = capacity;
    q.executor = herald::Executor::polled();
    return q;
}

Eager receive_one(herald::Mailbox<std::string>& mailbox, herald::Executor on,
                  std::optional<std::string>& out, std::thread::id& resumed_on,
                  std::atomic<bool>& done) {
    auto m = co_await herald::next(mailbox, on);
    if (m) {
        out = m->payload;
    }
    resumed_on = std::this_thread::get_id();
    done.store(true);
}

Eager receive_one_for(herald::Mailbox<std::string>& mailbox, std::chrono::nanoseconds timeout,
                      herald::Executor on, std::optional<std::string>& out,
                      std::atomic<bool>& done) {
    auto m = co_await herald::next_for(mailbox, timeout, on);
    if (m) {
        out = m->payload;
    }
    done.store(true);
}

Eager receive_all(herald::Mailbox<int>& mailbox, herald::Executor on, std::vector<int>& out,
                  std::atomic<bool>& done) {
    while (auto m = co_await herald::next(mailbox, on)) {
        out.push_back(m->payload);
    }
    done.store(true);
}

// Runs the executor's tasks until `done` (retries come from the timer thread).
bool run_until(herald::ManualExecutor& manual, const std::atomic<bool>& done) {
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (!done.load()) {
        if (std::chrono::steady_clock::now() > until) {
            return false;
        }
        if (!manual.run_one()) {
            std::this_thread::sleep_for(100us);
        }
    }
    return true;
}

// An executor with one thread of its own: where a test's coroutine resumes.
class ThreadExecutor {
public:
    ThreadExecutor() : thread_([this] { run(); }) {}
    ThreadExecutor(const ThreadExecutor&) = delete;
    ThreadExecutor& operator=(const ThreadExecutor&) = delete;
    ~ThreadExecutor() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        cv_.notify_one();
        thread_.join();
    }
    void execute(herald::Executor::Task task) {
        // Notified under the lock: once the task has run, the test may destroy this executor
        // while the submitting thread (a publisher, herald's timer) would still be notifying.
        std::lock_guard lock(mutex_);
        tasks_.push_back(std::move(task));
        cv_.notify_one();
    }
    std::thread::id id() const { return thread_.get_id(); }

private:
    void run() {
        std::unique_lock lock(mutex_);
        for (;;) {
            cv_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
            if (tasks_.empty()) {
                return;
            }
            auto task = std::move(tasks_.front());
            tasks_.pop_front();
            lock.unlock();
            task();
            lock.lock();
        }
    }

    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<herald::Executor::Task> tasks_;
    bool stopping_ = false;
    std::thread thread_;
};

bool eventually(const std::atomic<bool>& flag) {
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (!flag.load()) {
        if (std::chrono::steady_clock::now() > until) {
            return false;
        }
        std::this_thread::sleep_for(100us);
    }
    return true;
}

} // namespace

TEST_CASE("coroutine: a queued message is received without suspending", "[coroutine]") {
    herald::Broker broker;
    herald::ManualExecutor manual;
    auto mailbox = broker.subscribe("inbox", polled_queue(8));
    broker.publish("inbox", "hello");
    std::optional<std::string> got;
    std::thread::id resumed_on;
    std::atomic<bool> done{false};
    receive_one(mailbox, manual.executor(), got, resumed_on, done);
    CHECK(done.load());
    CHECK(manual.pending() == 0);
    CHECK(got == "hello");
    CHECK(resumed_on == std::this_thread::get_id());
    CHECK(mailbox.stats().delivered == 1);
}

TEST_CASE("coroutine: a suspended receiver resumes on its executor, not in publish",
          "[coroutine]") {
    herald::Broker broker;
    herald::ManualExecutor manual;
    auto mailbox = broker.subscribe("inbox", polled_queue(8));
    std::optional<std::string> got;
    std::thread::id resumed_on;
    std::atomic<bool> done{false};
    receive_one(mailbox, manual.executor(), got, resumed_on, done);
    CHECK_FALSE(done.load());
    CHECK(manual.pending() == 0);

    std::thread publisher([&] { CHECK(broker.publish("inbox", "later") == 1); });
    publisher.join();
    CHECK_FALSE(done.load()); // publish only handed a task over
    CHECK(manual.pending() == 1);
    CHECK(mailbox.size() == 1); // the message is taken when the coroutine resumes
    CHECK(manual.run_all() == 1);
    CHECK(done.load());
    CHECK(got == "later");
    CHECK(resumed_on == std::this_thread::get_id());
}

TEST_CASE("coroutine: a loop receives every message in order until unsubscribe", "[coroutine]") {
    herald::Broker broker;
    herald::ManualExecutor manual;
    const herald::Topic<int> numbers("numbers");
    auto mailbox = broker.subscribe(numbers, polled_queue(16));
    std::vector<int> got;
    std::atomic<bool> done{false};
    broker.publish(numbers, 1);
    receive_all(mailbox, manual.executor(), got, done);
    CHECK(got == std::vector<int>{1});
    broker.publish(numbers, 2);
    broker.publish(numbers, 3);
    manual.run_all();
    broker.publish(numbers, 4);
    manual.run_all();
    CHECK(got == std::vector<int>{1, 2, 3, 4});
    CHECK_FALSE(done.load());
    mailbox.unsubscribe();
    CHECK(manual.run_all() == 1);
    CHECK(done.load());
}

namespace {

// Names the awaitable and destroys the executor it was given before awaiting it: the wait
// must have kept its own copy (it once kept a pointer, used after the executor was gone).
Eager receive_after_executor_gone(herald::Mailbox<std::string>& mailbox,
                                  herald::ManualExecutor& manual, std::optional<std::string>& out,
                                  std::atomic<bool>& done) {
    auto on = std::make_unique<herald::Executor>(manual.executor());
    auto&& wait = herald::next(mailbox, *on);
    on.reset();
    auto m = co_await wait;
    if (m) {
        out = m->payload;
    }
    done.store(true);
}

} // namespace

TEST_CASE("coroutine: a wait keeps its own copy of the executor it was given", "[coroutine]") {
    herald::Broker broker;
    herald::ManualExecutor manual;
    auto mailbox = broker.subscribe("inbox", polled_queue(8));
    std::optional<std::string> got;
    std::atomic<bool> done{false};
    receive_after_executor_gone(mailbox, manual, got, done);
    CHECK_FALSE(done.load());
    broker.publish("inbox", "still resumed");
    CHECK(manual.run_all() == 1);
    CHECK(done.load());
    CHECK(got == "still resumed");
}

namespace {

// The loop shape docs/coroutines.md recommends for GCC 12: the result of `co_await` is named
// before it is tested, never tested as a temporary inside an `if`/`while` condition. The
// executor is a temporary of the `co_await` expression itself (the wait copies it).
Eager receive_named_until_end(herald::Mailbox<int>& mailbox, herald::ManualExecutor& manual,
                              std::vector<int>& out, std::atomic<bool>& done) {
    for (;;) {
        std::optional<herald::Envelope<int>> m = co_await herald::next(mailbox, manual.executor());
        if (!m) {
            break;
        }
        out.push_back(m->payload);
    }
    done.store(true);
}

} // namespace

TEST_CASE("coroutine: a loop that names each result receives every message until the end",
          "[coroutine]") {
    herald::Broker broker;
    herald::ManualExecutor manual;
    const herald::Topic<int> numbers("numbers");
    auto mailbox = broker.subscribe(numbers, polled_queue(16));
    std::vector<int> got;
    std::atomic<bool> done{false};
    receive_named_until_end(mailbox, manual, got, done);
    for (int i = 1; i <= 3; ++i) {
        broker.publish(numbers, i);
        CHECK(manual.run_all() == 1); // each message resumes the parked coroutine once
    }
    CHECK(got == std::vector<int>{1, 2, 3});
    CHECK_FALSE(done.load());
    mailbox.unsubscribe();
    CHECK(manual.run_all() == 1);
    CHECK(done.load());
}

TEST_CASE("coroutine: next_for yields nothing after the timeout", "[coroutine]") {
    herald::Broker broker;
    herald::ManualExecutor manual;
    auto mailbox = broker.subscribe("inbox", polled_queue(8));
    std::optional<std::string> got;
    std::atomic<bool> done{false};
    const auto started = std::chrono::steady_clock::now();
    receive_one_for(mailbox, 20ms, manual.executor(), got, done);
    // Resumed through the executor, or at once if the deadline passed before it parked (a
    // slow machine, a sanitizer build).
    REQUIRE(run_until(manual, done));
    CHECK_FALSE(got.has_value());
    CHECK(std::chrono::steady_clock::now() - started >= 20ms);
    // The mailbox still works, and the expired wait left nothing parked behind.
    broker.publish("inbox", "after");
    CHECK(manual.pending() == 0);
    CHECK(mailbox.try_receive()->payload == "after");
}

TEST_CASE("coroutine: next_for yields the message that comes before the timeout", "[coroutine]") {
    herald::Broker broker;
    herald::ManualExecutor manual;
    auto mailbox = broker.subscribe("inbox", polled_queue(8));
    std::optional<std::string> got;
    std::atomic<bool> done{false};
    receive_one_for(mailbox, 1h, manual.executor(), got, done);
    broker.publish("inbox", "in time");
    CHECK(manual.run_all() == 1);
    CHECK(done.load());
    CHECK(got == "in time");
}

TEST_CASE("coroutine: a timed wait that ends early leaves the timer nothing stale to read",
          "[coroutine]") {
    herald::Broker broker;
    herald::ManualExecutor manual;
    auto mailbox = broker.subscribe("inbox", polled_queue(8));
    std::optional<std::string> got;
    std::atomic<bool> done{false};
    // The timer thread goes to sleep until this long deadline...
    receive_one_for(mailbox, 1h, manual.executor(), got, done);
    std::this_thread::sleep_for(10ms);
    // ...which is cancelled while it sleeps (the wait completes early)...
    broker.publish("inbox", "early");
    CHECK(manual.run_all() == 1);
    CHECK(got == "early");
    // ...and a shorter deadline wakes it: it must not read the cancelled one again.
    done.store(false);
    got.reset();
    receive_one_for(mailbox, 1ms, manual.executor(), got, done);
    REQUIRE(run_until(manual, done));
    CHECK_FALSE(got.has_value());
}

TEST_CASE("coroutine: unsubscribe resumes a waiting receiver with nothing", "[coroutine]") {
    herald::Broker broker;
    herald::ManualExecutor manual;
    auto mailbox = broker.subscribe("inbox", polled_queue(8));
    std::optional<std::string> got;
    std::thread::id resumed_on;
    std::atomic<bool> done{false};
    receive_one(mailbox, manual.executor(), got, resumed_on, done);
    std::thread other([&] { mailbox.unsubscribe(); });
    other.join();
    CHECK_FALSE(done.load());
    CHECK(manual.run_all() == 1);
    CHECK(done.load());
    CHECK_FALSE(got.has_value());
}

TEST_CASE("coroutine: broker shutdown resumes a waiting receiver with nothing", "[coroutine]") {
    herald::ManualExecutor manual;
    herald::Broker broker;
    auto mailbox = broker.subscribe("inbox", polled_queue(8));
    std::optional<std::string> got;
    std::thread::id resumed_on;
    std::atomic<bool> done{false};
    receive_one(mailbox, manual.executor(), got, resumed_on, done);
    broker.shutdown();
    CHECK(manual.run_all() == 1);
    CHECK(done.load());
    CHECK_FALSE(got.has_value());
}

TEST_CASE("coroutine: after a draining shutdown what was queued is still received", "[coroutine]") {
    herald::ManualExecutor manual;
    herald::Broker broker;
    auto mailbox = broker.subscribe("inbox", polled_queue(8));
    broker.publish("inbox", "kept");
    broker.shutdown(herald::ShutdownMode::drain);
    std::optional<std::string> got;
    std::thread::id resumed_on;
    std::atomic<bool> done{false};
    receive_one(mailbox, manual.executor(), got, resumed_on, done);
    CHECK(done.load());
    CHECK(got == "kept");
    done.store(false);
    got.reset();
    receive_one(mailbox, manual.executor(), got, resumed_on, done);
    CHECK(done.load());
    CHECK_FALSE(got.has_value());
}

TEST_CASE("coroutine: a disconnect overflow resumes the receiver with nothing", "[coroutine]") {
    herald::Broker broker;
    herald::ManualExecutor manual;
    herald::queued q = polled_queue(1);
    q.overflow = herald::Overflow::disconnect;
    auto mailbox = broker.subscribe("inbox", q);
    std::optional<std::string> got;
    std::thread::id resumed_on;
    std::atomic<bool> done{false};
    receive_one(mailbox, manual.executor(), got, resumed_on, done);
    broker.publish("inbox", "fills it"); // claims the waiter
    broker.publish("inbox", "overflows it");
    CHECK_FALSE(mailbox.active());
    manual.run_all();
    CHECK(done.load());
    CHECK_FALSE(got.has_value());
    CHECK(mailbox.stats().drops.disconnected == 2); // the queued one and the overflowing one
}

TEST_CASE("coroutine: an empty mailbox yields nothing at once", "[coroutine]") {
    herald::ManualExecutor manual;
    herald::Mailbox<std::string> mailbox;
    std::optional<std::string> got;
    std::thread::id resumed_on;
    std::atomic<bool> done{false};
    receive_one(mailbox, manual.executor(), got, resumed_on, done);
    CHECK(done.load());
    CHECK_FALSE(got.has_value());
}

TEST_CASE("coroutine: the worker and polled executors are refused for resuming", "[coroutine]") {
    herald::Broker broker;
    auto mailbox = broker.subscribe("inbox", polled_queue(8));
    CHECK_THROWS_AS((void)herald::next(mailbox, herald::Executor{}), std::invalid_argument);
    CHECK_THROWS_AS((void)herald::next_for(mailbox, 1ms, herald::Executor::polled()),
                    std::invalid_argument);
    herald::ManualExecutor manual;
    auto inline_sub = broker.subscribe("other", [](const std::string&) {});
    CHECK_THROWS_AS((void)herald::next(inline_sub, manual.executor()), std::invalid_argument);
}

namespace {

Eager run_polled(herald::Subscription& sub, herald::Executor on, std::size_t& total,
                 std::atomic<bool>& done) {
    while (const std::size_t n = co_await herald::next(sub, on)) {
        total += n;
    }
    done.store(true);
}

Eager run_polled_for(herald::Subscription& sub, std::chrono::nanoseconds timeout,
                     herald::Executor on, std::size_t& ran, std::atomic<bool>& done) {
    ran = co_await herald::next_for(sub, timeout, on);
    done.store(true);
}

} // namespace

TEST_CASE("coroutine: awaiting a polled subscription runs its handler where it resumes",
          "[coroutine]") {
    herald::Broker broker;
    herald::ManualExecutor manual;
    std::vector<std::string> seen;
    std::vector<std::thread::id> threads;
    auto sub = broker.subscribe(
        "jobs",
        [&](const std::string& s) {
            seen.push_back(s);
            threads.push_back(std::this_thread::get_id());
        },
        polled_queue(8));
    broker.publish("jobs", "a");
    std::size_t total = 0;
    std::atomic<bool> done{false};
    run_polled(sub, manual.executor(), total, done);
    CHECK(total == 1); // ran at once, without suspending
    std::thread publisher([&] {
        broker.publish("jobs", "b");
        broker.publish("jobs", "c");
    });
    publisher.join();
    CHECK(seen.size() == 1); // not on the publisher's thread
    manual.run_all();
    CHECK(seen == std::vector<std::string>{"a", "b", "c"});
    for (const auto& id : threads) {
        CHECK(id == std::this_thread::get_id());
    }
    sub.unsubscribe();
    manual.run_all();
    CHECK(done.load());
    CHECK(total == 3);
}

TEST_CASE("coroutine: next_for on a polled subscription yields 0 after the timeout",
          "[coroutine]") {
    herald::Broker broker;
    herald::ManualExecutor manual;
    auto sub = broker.subscribe(
        "jobs", [](const std::string&) {}, polled_queue(8));
    std::size_t ran = 99;
    std::atomic<bool> done{false};
    run_polled_for(sub, 5ms, manual.executor(), ran, done);
    REQUIRE(run_until(manual, done));
    CHECK(ran == 0);
}

namespace {

Eager count_until_end(herald::Mailbox<int>& mailbox, herald::Executor on, std::uint64_t& received,
                      std::atomic<bool>& done) {
    // `while (auto m = co_await ...)`, not `while (co_await ...)`: GCC 12.2 miscompiles a
    // `co_await` tested as a temporary in a condition (docs/coroutines.md, "GCC 12").
    while (auto m = co_await herald::next(mailbox, on)) {
        ++received;
    }
    done.store(true);
}

Eager count_with_timeouts(herald::Mailbox<int>& mailbox, herald::Executor on,
                          std::uint64_t& received, std::uint64_t& timeouts,
                          std::atomic<bool>& done) {
    for (;;) {
        auto m = co_await herald::next_for(mailbox, 50us, on);
        if (m) {
            ++received;
        } else if (!mailbox.active() && mailbox.size() == 0) {
            break;
        } else {
            ++timeouts;
        }
    }
    done.store(true);
}

} // namespace

TEST_CASE("coroutine: publishes racing the suspension lose no message", "[coroutine][threads]") {
    const bool timed = GENERATE(false, true);
    herald::Broker broker;
    ThreadExecutor consumer;
    const herald::Topic<int> numbers("numbers");
    auto mailbox = broker.subscribe(numbers, polled_queue(64));
    std::uint64_t received = 0;
    std::uint64_t timeouts = 0;
    std::atomic<bool> done{false};
    herald::Executor on = herald::Executor::of(consumer);
    // Started on the consumer thread, as an event loop would: everything the coroutine
    // touches is then touched by that thread only.
    consumer.execute([&] {
        if (timed) {
            count_with_timeouts(mailbox, on, received, timeouts, done);
        } else {
            count_until_end(mailbox, on, received, done);
        }
    });
    constexpr int per_thread = 20000;
    std::vector<std::thread> publishers;
    for (int t = 0; t < 2; ++t) {
        publishers.emplace_back([&] {
            for (int i = 0; i < per_thread; ++i) {
                broker.publish(numbers, i);
                if (i % 64 == 0) {
                    std::this_thread::yield(); // let the consumer empty the queue and park
                }
            }
        });
    }
    for (auto& p : publishers) {
        p.join();
    }
    // Every message is received or counted as dropped; then the end resumes the coroutine.
    const auto until = std::chrono::steady_clock::now() + 20s;
    while (mailbox.size() != 0 && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(1ms);
    }
    const auto stats_before = mailbox.stats();
    mailbox.unsubscribe();
    REQUIRE(eventually(done));
    CHECK(stats_before.queued == 0);
    std::uint64_t got = 0;
    std::atomic<bool> read{false};
    consumer.execute([&] {
        got = received;
        read.store(true);
    });
    REQUIRE(eventually(read));
    CHECK(got + mailbox.stats().dropped == 2u * per_thread);
    CHECK(got == mailbox.stats().delivered);
}

namespace {

herald::queued block_queue(std::size_t capacity, std::chrono::nanoseconds timeout) {
    herald::queued q = polled_queue(capacity);
    q.overflow = herald::Overflow::block;
    q.block_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
    return q;
}

Eager publish_one(herald::Broker<>& broker, std::string text, herald::Executor on,
                  std::size_t& count, std::atomic<bool>& done) {
    count = co_await herald::publish_suspending(
        on, [&broker, &text] { return broker.publish("jobs", text); });
    done.store(true);
}

} // namespace

TEST_CASE("coroutine: a publisher on a block queue with room does not suspend", "[coroutine]") {
    herald::Broker broker;
    herald::ManualExecutor manual;
    auto mailbox = broker.subscribe("jobs", block_queue(4, 10s));
    std::size_t count = 99;
    std::atomic<bool> done{false};
    publish_one(broker, "a", manual.executor(), count, done);
    CHECK(done.load());
    CHECK(count == 1);
    CHECK(mailbox.try_receive()->payload == "a");
}

TEST_CASE("coroutine: a publisher on a full block queue suspends instead of blocking its thread",
          "[coroutine]") {
    herald::Broker broker;
    herald::ManualExecutor manual;
    auto full = broker.subscribe("jobs", block_queue(1, 10s));
    std::vector<std::string> inline_seen;
    auto other = broker.subscribe("jobs", [&](const std::string& s) { inline_seen.push_back(s); });
    broker.publish("jobs", "first"); // fills the block queue
    std::size_t count = 0;
    std::atomic<bool> done{false};
    publish_one(broker, "second", manual.executor(), count, done);
    // The call returned with the coroutine suspended: this thread was not blocked, and the
    // other subscriber already has the message.
    CHECK_FALSE(done.load());
    CHECK(inline_seen == std::vector<std::string>{"first", "second"});
    CHECK(full.size() == 1);
    CHECK(full.try_receive()->payload == "first"); // room: the next retry pushes
    REQUIRE(run_until(manual, done));
    CHECK(count == 2);
    CHECK(full.try_receive()->payload == "second");
    CHECK(full.stats().drops.timed_out == 0);
}

TEST_CASE("coroutine: a suspended publisher drops its message after the block timeout",
          "[coroutine]") {
    herald::Broker broker;
    herald::ManualExecutor manual;
    auto full = broker.subscribe("jobs", block_queue(1, 5ms));
    broker.publish("jobs", "first");
    std::size_t count = 99;
    std::atomic<bool> done{false};
    publish_one(broker, "late", manual.executor(), count, done);
    CHECK_FALSE(done.load());
    REQUIRE(run_until(manual, done));
    CHECK(count == 0);
    CHECK(full.stats().drops.timed_out == 1);
    CHECK(full.stats().dropped == 1);
    CHECK(full.try_receive()->payload == "first");
    CHECK_FALSE(full.try_receive().has_value());
}

TEST_CASE("coroutine: unsubscribe ends a suspended publisher's wait, its message counted",
          "[coroutine]") {
    herald::Broker broker;
    herald::ManualExecutor manual;
    auto full = broker.subscribe("jobs", block_queue(1, 10s));
    broker.publish("jobs", "first");
    std::size_t count = 99;
    std::atomic<bool> done{false};
    publish_one(broker, "never", manual.executor(), count, done);
    CHECK_FALSE(done.load());
    full.unsubscribe();
    REQUIRE(run_until(manual, done));
    CHECK(count == 0);
    CHECK(broker.stats().dropped >= 2); // the queued one and the one that waited
}

namespace {

Eager publish_many(herald::Broker<>& broker, int n, herald::Executor on, std::size_t& total,
                   std::atomic<bool>& done) {
    for (int i = 0; i < n; ++i) {
        const std::size_t c = co_await herald::publish_suspending(
            on, [&broker, i] { return broker.publish("jobs", std::to_string(i)); });
        total += c;
    }
    done.store(true);
}

} // namespace

TEST_CASE("coroutine: a suspending publisher's messages arrive complete and in order",
          "[coroutine][threads]") {
    herald::Broker broker;
    ThreadExecutor publisher_loop;
    auto full = broker.subscribe("jobs", block_queue(4, 10s));
    constexpr int count = 2000;
    std::size_t total = 0;
    std::atomic<bool> done{false};
    publisher_loop.execute(
        [&] { publish_many(broker, count, herald::Executor::of(publisher_loop), total, done); });
    std::vector<int> got;
    while (got.size() < static_cast<std::size_t>(count)) {
        auto m = full.receive_for(10s);
        REQUIRE(m.has_value());
        got.push_back(std::stoi(m->payload));
    }
    REQUIRE(eventually(done));
    std::atomic<bool> read{false};
    std::size_t seen_total = 0;
    publisher_loop.execute([&] {
        seen_total = total;
        read.store(true);
    });
    REQUIRE(eventually(read));
    CHECK(seen_total == static_cast<std::size_t>(count));
    bool in_order = true;
    for (int i = 0; i < count; ++i) {
        in_order = in_order && got[static_cast<std::size_t>(i)] == i;
    }
    CHECK(in_order);
    CHECK(full.stats().dropped == 0);
}
