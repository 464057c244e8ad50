#pragma once
// One wait of a receiver that has no thread to block (a coroutine, an asio operation) on a
// polled queue, and the timer that ends timed waits (and paces the retries of a coroutine
// publisher on a full `block` queue, coroutine.hpp's DeferredPublish).
//
// A wait is parked on the queue (QueuedCore::park) until it is claimed: by a producer that
// pushed a message, by the end of the subscription, or by the timer. The claimer calls
// `woken()`, which schedules `attempt()` where the receiver resumes (its executor); the
// attempt takes a message, or sees the end or the timeout, and completes, or parks again
// (another receiver took the message first). Nothing runs the receiver on the thread that
// claimed it unless its executor runs tasks inline.

#include <herald/detail/queued_core.hpp>
#include <herald/version.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

HERALD_NAMESPACE_BEGIN
namespace detail {

class TimedWaiter;

/// The process's one timer thread for timed waits, started by the first one. It only claims
/// expired waits and schedules their retry; no receiver runs on it (unless its executor runs
/// tasks inline).
class WaitTimer {
public:
    using Clock = std::chrono::steady_clock;
    using Entries = std::multimap<Clock::time_point, TimedWaiter*>;

    static WaitTimer& instance() {
        static WaitTimer timer;
        return timer;
    }

    WaitTimer(const WaitTimer&) = delete;
    WaitTimer& operator=(const WaitTimer&) = delete;

    ~WaitTimer() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        cv_.notify_one();
        if (thread_.joinable()) {
            thread_.join();
        }
    }

    inline void add(TimedWaiter& w);
    inline void cancel(TimedWaiter& w);

private:
    WaitTimer() = default;
    inline void run();

    std::mutex mutex_;
    std::condition_variable cv_;
    Entries entries_;
    bool stopping_ = false;
    std::thread thread_;
};

/// A waiter the timer can claim at its deadline: the timer sets `timed_out_` and, if it wins
/// the claim, calls `woken()`.
class TimedWaiter : public QueueWaiter {
public:
    using Clock = std::chrono::steady_clock;

protected:
    explicit TimedWaiter(Clock::time_point deadline) noexcept : deadline_(deadline) {}
    ~TimedWaiter() = default;

    bool has_deadline() const noexcept { return deadline_ != Clock::time_point::max(); }

    Clock::time_point deadline_;
    std::atomic<bool> timed_out_{false};

private:
    friend class WaitTimer;

    WaitTimer::Entries::iterator timer_entry_{}; // under the timer's mutex
    bool timer_armed_ = false;                   // under the timer's mutex
};

/// A parked receive. Subclasses say how a message is taken, where the retry runs and how the
/// receiver is resumed; this class does the parking, the re-checks and the timeout.
class QueueWait : public TimedWaiter {
public:
    /// `queue` may be null for a receiver that never parks (an empty mailbox).
    QueueWait(QueuedCore* queue, Clock::time_point deadline) noexcept
        : TimedWaiter(deadline), queue_(queue) {}

protected:
    ~QueueWait() = default;

    /// Takes a message if one is queued now.
    virtual bool take() = 0;
    /// Runs `attempt()` where the receiver resumes; must not throw.
    virtual void schedule() noexcept = 0;
    /// Resumes the receiver with what `take` stored (or nothing); `*this` may end here.
    virtual void complete() noexcept = 0;

    /// First wait, after a failed immediate try: true if parked (the caller must not touch
    /// `*this` any more), false if it completed here without parking (call `complete()` or
    /// resume inline).
    bool start() {
        if (has_deadline()) {
            WaitTimer::instance().add(*this);
        }
        for (;;) {
            if (queue_->park(*this,
                             [this] { return timed_out_.load(std::memory_order_seq_cst); })) {
                return true;
            }
            if (settled()) {
                cancel_timer();
                return false;
            }
        }
    }

    /// The retry, on the receiver's executor, after a claim.
    void attempt() noexcept {
        for (;;) {
            queue_->unpark(*this); // still listed when the timer claimed it
            if (settled()) {
                cancel_timer();
                complete();
                return;
            }
            if (queue_->park(*this,
                             [this] { return timed_out_.load(std::memory_order_seq_cst); })) {
                return;
            }
        }
    }

private:
    void woken() noexcept final { schedule(); }

    bool settled() {
        if (take()) {
            return true;
        }
        if (!queue_->is_active()) {
            take(); // what arrived before the end
            return true;
        }
        return timed_out_.load(std::memory_order_seq_cst);
    }

    void cancel_timer() {
        if (has_deadline()) {
            WaitTimer::instance().cancel(*this);
        }
    }

    QueuedCore* queue_;
};

void WaitTimer::add(TimedWaiter& w) {
    std::lock_guard lock(mutex_);
    w.timer_entry_ = entries_.emplace(w.deadline_, &w);
    w.timer_armed_ = true;
    if (!thread_.joinable()) {
        thread_ = std::thread([this] { run(); });
    } else if (w.timer_entry_ == entries_.begin()) {
        cv_.notify_one(); // the earliest deadline changed
    }
}

void WaitTimer::cancel(TimedWaiter& w) {
    std::lock_guard lock(mutex_);
    if (w.timer_armed_) {
        entries_.erase(w.timer_entry_);
        w.timer_armed_ = false;
    }
}

void WaitTimer::run() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        if (entries_.empty()) {
            cv_.wait(lock);
            continue;
        }
        const auto now = Clock::now();
        if (const Clock::time_point earliest = entries_.begin()->first; earliest > now) {
            // A copy: while this thread waits, the entry may be cancelled and its node freed,
            // and wait_until reads the deadline again after every wake-up.
            cv_.wait_until(lock, earliest);
            continue;
        }
        // Claimed under the mutex, so a cancel (under it too) never races with a claim: once
        // unlocked, the losers are never touched again; the winners are this thread's.
        QueueWaiter* chain = nullptr;
        while (!entries_.empty() && entries_.begin()->first <= now) {
            TimedWaiter* w = entries_.begin()->second;
            entries_.erase(entries_.begin());
            w->timer_armed_ = false;
            w->timed_out_.store(true, std::memory_order_seq_cst);
            std::uint8_t expected = QueueWaiter::armed;
            if (w->claim.compare_exchange_strong(expected, QueueWaiter::claimed,
                                                 std::memory_order_seq_cst)) {
                w->woken_next = chain;
                chain = w;
            }
        }
        lock.unlock();
        QueuedCore::wake_chain(chain);
        lock.lock();
    }
}

} // namespace detail
HERALD_NAMESPACE_END
