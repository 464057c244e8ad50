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
/// **Thread-safety:** a value; const members may be called concurrently, and the broker calls a
/// user executor's function from any publishing thread at once.
/// **Lifetime:** each queued subscription keeps a copy; what a user executor refers to must
/// outlive every subscription given it.
class Executor {
public:
    /// A task the broker hands over: run it exactly once (it holds a reference on its queue).
    using Task = std::function<void()>;

    /// The broker's own worker pool (`BrokerOptions::workers` threads).
    /// **Thread-safety:** any thread.
    Executor() = default;

    /// A user executor: `f(task)` must run `task` exactly once, on any thread, later or now.
    /// **Thread-safety:** `f` is called from whichever publishing thread finds the queue idle,
    /// possibly from several threads at once, so it must be safe for concurrent calls.
    /// **Lifetime:** `f` is copied (or moved) into the executor; what it refers to must outlive
    /// the subscriptions using it, and a task must be run, not dropped, or its queue leaks.
    template <class F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, Executor> && std::is_invocable_v<F&, Task>)
        Executor(F&& f)
        : mode_(Mode::user), submit_(std::forward<F>(f)) {} // NOLINT: implicit on purpose

    /// An executor object with `execute(task)`, held by reference.
    /// **Thread-safety:** `executor.execute` is called from any publishing thread, possibly
    /// from several at once.
    /// **Lifetime:** `executor` must outlive every subscription using the returned value.
    template <class E>
    requires requires(E& e, Task t) { e.execute(std::move(t)); }
    static Executor of(E& executor) {
        return Executor([&executor](Task t) { executor.execute(std::move(t)); });
    }

    /// The subscriber runs its own handler by calling `poll()`, `drain()` or `wait_for()` on
    /// the subscription (or receives through a mailbox); nothing runs it otherwise.
    /// **Thread-safety:** any thread.
    static Executor polled() {
        Executor e;
        e.mode_ = Mode::polled;
        return e;
    }

    /// True for the broker's own worker pool (the default).
    /// **Thread-safety:** any thread.
    bool is_workers() const noexcept { return mode_ == Mode::workers; }
    /// True for `Executor::polled()`.
    /// **Thread-safety:** any thread.
    bool is_polled() const noexcept { return mode_ == Mode::polled; }
    /// True for a user executor (a callable or `Executor::of`).
    /// **Thread-safety:** any thread.
    bool is_user() const noexcept { return mode_ == Mode::user; }
    /// Hands `task` to a user executor (what the broker calls to schedule a queue); on the
    /// other two kinds there is nothing to call and it throws `std::bad_function_call`.
    /// **Thread-safety:** as safe as the wrapped function: const, callable concurrently when
    /// that function is.
    /// **Lifetime:** `task` is moved to the wrapped function.
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
    /// An executor with no pending task.
    /// **Thread-safety:** any thread.
    ManualExecutor() = default;
    /// Not copyable: subscriptions refer to it.
    ManualExecutor(const ManualExecutor&) = delete;
    /// Not copy-assignable: subscriptions refer to it.
    ManualExecutor& operator=(const ManualExecutor&) = delete;
    /// Runs every pending task on the destroying thread, then goes.
    /// **Thread-safety:** not while another thread calls a member or a subscription using it
    /// may still submit.
    /// **Lifetime:** subscriptions using it must have ended first.
    ~ManualExecutor() { run_all(); }

    /// Queues a task (what the broker calls).
    /// **Thread-safety:** any thread, also from inside a task (takes an internal mutex).
    /// **Lifetime:** the task is kept until `run_one`, `run_all` or the destructor runs it.
    void execute(Executor::Task task) {
        std::lock_guard lock(mutex_);
        tasks_.push_back(std::move(task));
    }

    /// Runs the oldest pending task on this thread; false if there was none.
    /// **Thread-safety:** any thread, also from inside a task; the task runs outside the
    /// internal mutex, so it may queue more (two threads calling this run two tasks at once).
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

    /// Runs tasks on this thread until none is pending (including ones queued meanwhile);
    /// returns how many.
    /// **Thread-safety:** any thread, also from inside a task; each task runs outside the
    /// internal mutex.
    std::size_t run_all() {
        std::size_t n = 0;
        while (run_one()) {
            ++n;
        }
        return n;
    }

    /// Tasks waiting to run.
    /// **Thread-safety:** any thread (takes the internal mutex); other threads may change the
    /// count right after.
    std::size_t pending() const {
        std::lock_guard lock(mutex_);
        return tasks_.size();
    }

    /// This executor as an `Executor` value (by reference), for `QueueOptions::executor`.
    /// **Thread-safety:** any thread.
    /// **Lifetime:** the value refers to this object, which must outlive the subscriptions
    /// given it.
    Executor executor() { return Executor::of(*this); }

private:
    mutable std::mutex mutex_;
    std::deque<Executor::Task> tasks_;
};

HERALD_NAMESPACE_END
