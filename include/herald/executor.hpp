#pragma once
/// \file
/// Where queued handlers run: `Executor` (the broker's workers, the subscriber's own thread,
/// or any user executor) and `ManualExecutor`, which runs tasks only when a test says so.

#include <herald/version.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <type_traits>
#include <utility>

HERALD_NAMESPACE_BEGIN

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

HERALD_NAMESPACE_END
