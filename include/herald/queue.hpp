#pragma once
/// \file
/// Queued delivery: bounded per-subscriber queues, overflow policies and where handlers run.

#include <herald/version.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

HERALD_NAMESPACE_BEGIN

/// What a full queue does with one more message.
enum class Overflow : std::uint8_t {
    drop_newest, ///< the new message is dropped (counted)
    drop_oldest, ///< the oldest queued message is dropped to make room (counted)
    conflate,    ///< only the latest message per channel is kept; replaced ones are counted
    block,       ///< the publisher waits up to `queued::block_timeout`, then drops (counted)
    disconnect,  ///< the subscription is cancelled, its queue discarded (counted) and the
                 ///< error hook told, like Redis's output-buffer limit for slow subscribers
};

/// A task-running executor: anything that accepts a `std::function<void()>` and runs it once,
/// later, on some thread. Wraps callables (`[&](std::function<void()> t) { pool.post(t); }`) and
/// objects with an `execute(task)` or `post(task)` member (held by reference: they must outlive
/// every subscription using them).
/// Two special values: the default (the broker's own workers) and `Executor::polled()` (the
/// subscriber's own thread, through `poll()`, `drain()`, `wait_for()` or a mailbox).
class Executor {
public:
    using Task = std::function<void()>;

    /// The broker's own worker pool (`BrokerOptions::workers` threads).
    Executor() = default;

    /// A user executor: `f(task)` must run `task` exactly once, on any thread, later or now.
    template <class F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, Executor> && std::is_invocable_v<F&, Task>)
        Executor(F&& f)
        : mode_(Mode::user), submit_(std::forward<F>(f)) {} // NOLINT: implicit on purpose

    /// An executor object with `execute(task)`, held by reference.
    template <class E>
    requires requires(E& e, Task t) { e.execute(std::move(t)); }
    static Executor of(E& executor) {
        return Executor([&executor](Task t) { executor.execute(std::move(t)); });
    }

    /// The subscriber runs its own handler by calling `poll()`, `drain()` or `wait_for()` on
    /// the subscription (or receives through a mailbox); nothing runs it otherwise.
    static Executor polled() {
        Executor e;
        e.mode_ = Mode::polled;
        return e;
    }

    bool is_workers() const noexcept { return mode_ == Mode::workers; }
    bool is_polled() const noexcept { return mode_ == Mode::polled; }
    bool is_user() const noexcept { return mode_ == Mode::user; }
    void submit(Task task) const { submit_(std::move(task)); }

private:
    enum class Mode : std::uint8_t { workers, polled, user };
    Mode mode_ = Mode::workers;
    std::function<void(Task)> submit_;
};

/// A manual executor for tests and deterministic simulations: tasks run only when the caller
/// says so (`run_one`, `run_all`), so ordering and overflow can be asserted without sleeps.
/// **Thread-safety:** all members may be called from any thread.
/// **Lifetime:** must outlive the subscriptions that use it; tasks still pending when it is
/// destroyed are run then (they only drain queues, which the broker may have discarded).
class ManualExecutor {
public:
    ManualExecutor() = default;
    ManualExecutor(const ManualExecutor&) = delete;
    ManualExecutor& operator=(const ManualExecutor&) = delete;
    ~ManualExecutor() { run_all(); }

    /// Queues a task (what the broker calls).
    void execute(Executor::Task task) {
        std::lock_guard lock(mutex_);
        tasks_.push_back(std::move(task));
    }

    /// Runs the oldest pending task; false if there was none.
    bool run_one() {
        Executor::Task task;
        {
            std::lock_guard lock(mutex_);
            if (tasks_.empty()) {
                return false;
            }
            task = std::move(tasks_.front());
            tasks_.pop_front();
        }
        task();
        return true;
    }

    /// Runs tasks until none is pending (including ones queued meanwhile); returns how many.
    std::size_t run_all() {
        std::size_t n = 0;
        while (run_one()) {
            ++n;
        }
        return n;
    }

    /// Tasks waiting to run.
    std::size_t pending() const {
        std::lock_guard lock(mutex_);
        return tasks_.size();
    }

    /// This executor as an `Executor` value (by reference).
    Executor executor() { return Executor::of(*this); }

private:
    mutable std::mutex mutex_;
    std::deque<Executor::Task> tasks_;
};

/// What the slow-consumer callback receives, once per overflow episode.
struct SlowConsumer {
    std::uint64_t subscription_id; ///< the subscription whose queue overflowed
    std::string_view channel;      ///< the channel of the message that overflowed it
    Overflow overflow;             ///< its policy
    std::size_t capacity;          ///< its capacity
};

/// Options of a queued subscription: `broker.subscribe(topic, handler, herald::queued{...})`.
struct queued {
    /// Maximum queued messages (for `conflate`: maximum distinct channels pending). Must be at
    /// least 1: a capacity of 0 is rejected, never read as "unlimited".
    std::size_t capacity = 1024;
    /// What a full queue does.
    Overflow overflow = Overflow::drop_newest;
    /// For `Overflow::block`: how long a publisher waits for room before dropping.
    std::chrono::nanoseconds block_timeout = std::chrono::milliseconds(100);
    /// Where the handler runs (default: the broker's workers).
    Executor executor{};
    /// Called on the publishing thread at the first drop of an overflow episode; the episode
    /// ends when the consumer empties the queue. Must not throw (what it throws is swallowed).
    std::function<void(const SlowConsumer&)> on_slow_consumer{};
};

/// How `Broker::shutdown` treats messages still queued.
enum class ShutdownMode : std::uint8_t {
    drain,   ///< deliver them first (on the broker's workers, else on the calling thread)
    discard, ///< drop them, counted as dropped
};

/// Thrown for invalid queue options (e.g. a capacity of 0).
class queue_options_error : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

HERALD_NAMESPACE_END
