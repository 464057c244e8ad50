#pragma once
/// \file
/// C++20 coroutines on herald's polled queues, with no coroutine library:
/// `co_await herald::next(mailbox, executor)` receives the next message of a mailbox and
/// `co_await herald::next(subscription, executor)` runs a polled subscription's handler on the
/// messages queued. Both have a timed form (`next_for`) and end with an empty result when the
/// subscription does (unsubscribe, a `disconnect` overflow, broker shutdown).
///
/// Where the coroutine resumes: when a message is there already, it does not suspend and goes
/// on on its own thread. Otherwise it resumes on the executor given to the call, never on the
/// thread that published (a publisher may be a handler deep in a dispatch, or hold locks of
/// its own): the publisher only hands a task to that executor, as it does to schedule a
/// queued handler. The message is taken off the queue on the executor, just before the
/// coroutine resumes, so several coroutines may wait on one mailbox.

#include <herald/detail/handle_access.hpp>
#include <herald/detail/queue_wait.hpp>
#include <herald/detail/queued_core.hpp>
#include <herald/executor.hpp>
#include <herald/mailbox.hpp>
#include <herald/subscription.hpp>
#include <herald/version.hpp>

#include <algorithm>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <utility>

HERALD_NAMESPACE_BEGIN

namespace detail {

inline void check_resume_executor(const Executor& on) {
    if (!on.is_user()) {
        throw std::invalid_argument(
            "herald: a coroutine waiting for a message resumes on the executor it is given: "
            "pass a user executor (ManualExecutor::executor(), herald::asio_executor(...), "
            "a callable), not the worker or polled value");
    }
}

inline QueueWait::Clock::time_point deadline_after(std::chrono::nanoseconds timeout) noexcept {
    const auto now = QueueWait::Clock::now();
    if (timeout >= QueueWait::Clock::time_point::max() - now) {
        return QueueWait::Clock::time_point::max();
    }
    return now + std::chrono::duration_cast<QueueWait::Clock::duration>(
                     timeout < std::chrono::nanoseconds::zero() ? std::chrono::nanoseconds::zero()
                                                                : timeout);
}

/// The common part of both awaitables: a parked wait resumed through a herald executor.
class CoroutineWait : public QueueWait {
protected:
    CoroutineWait(QueuedCore* queue, Clock::time_point deadline, const Executor& on)
        : QueueWait(queue, deadline), on_(on) {}
    ~CoroutineWait() = default;

    bool suspend(std::coroutine_handle<> h) {
        handle_ = h;
        return start();
    }

private:
    void schedule() noexcept final {
        // A task of one pointer: std::function keeps it without allocating.
        on_.submit([this] { attempt(); });
    }
    void complete() noexcept final { handle_.resume(); }

    // A copy, not a reference: the awaitable outlives the expression that named the
    // executor whenever the caller's coroutine took it by reference from a temporary of
    // its own caller (a reference parameter dangles after the first suspension).
    Executor on_;
    std::coroutine_handle<> handle_;
};

} // namespace detail

/// What `co_await herald::next(mailbox, on)` waits with; yields the next message, or an empty
/// optional once the subscription has ended and nothing is left, or on timeout (`next_for`).
/// **Thread-safety:** one coroutine awaits it, once; other threads and coroutines may receive
/// from the same mailbox meanwhile (each message goes to one receiver).
/// **Lifetime:** lives in the awaiting coroutine's frame for the `co_await` expression and
/// keeps its own copy of the executor given to `next`. The mailbox must outlive the wait, and
/// a coroutine suspended in it must not be destroyed: end the subscription and let it resume.
template <class T>
class [[nodiscard("co_await it")]] NextMessage : detail::CoroutineWait {
public:
    /// Not copyable or movable: a parked wait is referred to by the queue.
    NextMessage(const NextMessage&) = delete;
    /// Not assignable: a parked wait is referred to by the queue.
    NextMessage& operator=(const NextMessage&) = delete;

    /// True when no suspension is needed: a message is queued, or the subscription ended.
    /// **Thread-safety:** the awaiting coroutine's thread.
    bool await_ready() {
        if (queue_ == nullptr) {
            return true; // an empty mailbox: nothing will ever come
        }
        if (take()) {
            return true;
        }
        if (!queue_->is_active()) {
            take(); // what arrived before the end
            return true;
        }
        return false;
    }
    /// Parks the coroutine; false if a message arrived meanwhile (it goes on at once).
    /// **Thread-safety:** the awaiting coroutine's thread; producers may publish meanwhile.
    bool await_suspend(std::coroutine_handle<> h) {
        return suspend(h);
    }
    /// The message, or empty (ended, timed out).
    /// **Thread-safety:** the thread the coroutine resumed on.
    /// **Lifetime:** the envelope owns its message.
    std::optional<Envelope<T>> await_resume() {
        return std::move(result_);
    }

private:
    template <class U>
    friend NextMessage<U> next(Mailbox<U>&, const Executor&);
    template <class U>
    friend NextMessage<U> next_for(Mailbox<U>&, std::chrono::nanoseconds, const Executor&);

    NextMessage(Mailbox<T> & mailbox, Clock::time_point deadline, const Executor& on)
        : CoroutineWait(detail::HandleAccess::queue(mailbox), deadline, on), mailbox_(&mailbox),
          queue_(detail::HandleAccess::queue(mailbox)) {}

    bool take() override {
        if (auto m = mailbox_->try_receive()) {
            result_.emplace(std::move(*m)); // an envelope is not assignable
            return true;
        }
        return false;
    }

    Mailbox<T>* mailbox_;
    detail::QueuedCore* queue_; // null for an empty mailbox
    std::optional<Envelope<T>> result_;
};

/// What `co_await herald::next(subscription, on)` waits with; yields how many messages the
/// subscription's handler ran on (all those queued when it resumed), or 0 once the
/// subscription has ended, or on timeout (`next_for`).
/// **Thread-safety:** one coroutine awaits it, once. If another thread polls the same
/// subscription meanwhile, the coroutine retries until that poll has returned (the handler
/// never runs concurrently with itself).
/// **Lifetime:** as `NextMessage`: the subscription handle must outlive the wait, and a
/// coroutine suspended in it must not be destroyed.
class [[nodiscard("co_await it")]] NextRun : detail::CoroutineWait {
public:
    /// Not copyable or movable: a parked wait is referred to by the queue.
    NextRun(const NextRun&) = delete;
    /// Not assignable: a parked wait is referred to by the queue.
    NextRun& operator=(const NextRun&) = delete;

    /// True when no suspension is needed: messages were queued (the handler ran on them) or
    /// the subscription ended.
    /// **Thread-safety:** the awaiting coroutine's thread.
    bool await_ready() {
        return take() || !queue_->is_active();
    }
    /// Parks the coroutine; false if a message arrived meanwhile (it goes on at once).
    /// **Thread-safety:** the awaiting coroutine's thread.
    bool await_suspend(std::coroutine_handle<> h) {
        return suspend(h);
    }
    /// How many messages the handler ran on; 0 when ended or timed out.
    /// **Thread-safety:** the thread the coroutine resumed on.
    std::size_t await_resume() const noexcept {
        return ran_;
    }

private:
    friend NextRun next(Subscription&, const Executor&);
    friend NextRun next_for(Subscription&, std::chrono::nanoseconds, const Executor&);

    NextRun(detail::QueuedCore & queue, Clock::time_point deadline, const Executor& on)
        : CoroutineWait(&queue, deadline, on), queue_(&queue) {}

    bool take() override {
        ran_ += queue_->poll(static_cast<std::size_t>(-1), std::chrono::nanoseconds::zero());
        return ran_ != 0;
    }

    detail::QueuedCore* queue_;
    std::size_t ran_ = 0;
};

/// Awaits the next message of `mailbox`: `while (auto m = co_await herald::next(mb, on))`.
/// Does not suspend when a message is queued; otherwise resumes on `on`, which must be a user
/// executor (throws `std::invalid_argument` for the worker or polled value). Yields an empty
/// optional once the subscription has ended (unsubscribe, disconnect, broker shutdown) and
/// nothing is left; an empty mailbox yields it at once.
/// **Thread-safety:** any coroutine on any thread, concurrently with other receivers on the
/// mailbox; `on.submit` is called from the publishing (or unsubscribing) thread and must not
/// throw (it would terminate).
/// **Lifetime:** `mailbox` must outlive the `co_await`; `on` is copied into the awaitable, so
/// it may be a temporary. A coroutine that takes an `Executor` from its caller should take it
/// by value: a reference parameter bound to the caller's temporary dangles once the coroutine
/// has suspended.
template <class T>
NextMessage<T> next(Mailbox<T>& mailbox, const Executor& on) {
    detail::check_resume_executor(on);
    return NextMessage<T>(mailbox, NextMessage<T>::Clock::time_point::max(), on);
}

/// As `next(mailbox, on)`, giving up after `timeout`: then it yields an empty optional. The
/// timeout is kept by a process-wide timer thread (started by the first timed wait), which
/// only hands the coroutine's resumption to `on`.
/// **Thread-safety:** as `next`; `on.submit` may also be called from the timer thread.
/// **Lifetime:** as `next`.
template <class T>
NextMessage<T> next_for(Mailbox<T>& mailbox, std::chrono::nanoseconds timeout, const Executor& on) {
    detail::check_resume_executor(on);
    return NextMessage<T>(mailbox, detail::deadline_after(timeout), on);
}

/// For a queued subscription with a handler on `Executor::polled()`: awaits queued messages
/// and runs the handler on them, on the thread the coroutine resumes on (`on`, a user
/// executor; or this thread when messages are already queued). Yields how many ran; 0 once
/// the subscription has ended. Throws `std::invalid_argument` for another kind of
/// subscription or executor.
/// **Thread-safety:** as `next(mailbox, on)`; the handler never runs concurrently with itself.
/// **Lifetime:** `subscription` must outlive the `co_await` (`on` is copied); what the handler
/// throws is reported as `poll()` reports it, never thrown from here.
inline NextRun next(Subscription& subscription, const Executor& on) {
    detail::check_resume_executor(on);
    return NextRun(detail::HandleAccess::polled_queue(subscription),
                   NextRun::Clock::time_point::max(), on);
}

/// As `next(subscription, on)`, giving up after `timeout` (yields 0 then).
/// **Thread-safety:** as `next`; `on.submit` may also be called from the timer thread.
/// **Lifetime:** as `next`.
inline NextRun next_for(Subscription& subscription, std::chrono::nanoseconds timeout,
                        const Executor& on) {
    detail::check_resume_executor(on);
    return NextRun(detail::HandleAccess::polled_queue(subscription),
                   detail::deadline_after(timeout), on);
}

namespace detail {

/// The retries of a coroutine publisher's deferred pushes: driven by the timer with a backoff
/// (a full `block` queue does not announce room, as a blocked publisher thread finds out by
/// sleeping between tries too), each retry run on the coroutine's executor.
class DeferredPublish : public TimedWaiter {
protected:
    explicit DeferredPublish(const Executor& on) : TimedWaiter(Clock::time_point::max()), on_(on) {}
    ~DeferredPublish() {
        // Only reached with entries left if the coroutine was destroyed while suspended
        // (not allowed) or the publish threw: give the references back.
        for (const DeferredPushes::Entry& e : pushes_.entries) {
            e.node->release();
            e.queue->release();
        }
    }

    /// Retries every deferred push once; true when none is left.
    bool retry_all() {
        const auto now = Clock::now();
        auto& entries = pushes_.entries;
        for (std::size_t i = 0; i < entries.size();) {
            bool dropped = false;
            if (entries[i].queue->retry_deferred(entries[i], now >= entries[i].deadline, dropped)) {
                if (dropped) {
                    ++dropped_;
                }
                entries[i].queue->release();
                entries[i] = entries.back();
                entries.pop_back();
            } else {
                ++i;
            }
        }
        return entries.empty();
    }

    /// Arms the timer for the next retry: soon at first, then less often, never past the
    /// earliest block_timeout.
    void arm() {
        backoff_ = backoff_ == std::chrono::microseconds::zero()
                       ? first_backoff
                       : std::min(backoff_ * 2, std::chrono::microseconds(max_backoff));
        Clock::time_point earliest = Clock::time_point::max();
        for (const DeferredPushes::Entry& e : pushes_.entries) {
            earliest = std::min(earliest, e.deadline);
        }
        deadline_ = std::min(earliest, Clock::now() + backoff_);
        timed_out_.store(false, std::memory_order_relaxed);
        claim.store(QueueWaiter::armed, std::memory_order_seq_cst);
        WaitTimer::instance().add(*this);
    }

    /// The timer claimed this wait: retry on the coroutine's executor.
    void woken() noexcept final {
        on_.submit([this] {
            if (retry_all()) {
                handle_.resume();
            } else {
                arm();
            }
        });
    }

    static constexpr std::chrono::microseconds first_backoff{20};
    static constexpr std::chrono::microseconds max_backoff{1000};

    Executor on_;
    DeferredPushes pushes_;
    std::coroutine_handle<> handle_;
    std::chrono::microseconds backoff_{0};
    std::size_t dropped_ = 0;
};

} // namespace detail

/// What `co_await herald::publish_suspending(on, publish)` waits with; yields the number of
/// deliveries, as `publish` returns it, less the messages that a full `block` queue dropped in
/// the end (its `block_timeout` passed, or its subscription ended).
/// **Thread-safety:** one coroutine awaits it, once.
/// **Lifetime:** lives in the awaiting coroutine's frame and keeps its own copy of `on`; a
/// coroutine suspended in it must not be destroyed (the message waits with it).
template <class Publish>
class [[nodiscard("co_await it")]] PublishSuspending : detail::DeferredPublish {
public:
    /// Not copyable or movable: a suspended publish is referred to by the timer.
    PublishSuspending(const PublishSuspending&) = delete;
    /// Not assignable: a suspended publish is referred to by the timer.
    PublishSuspending& operator=(const PublishSuspending&) = delete;

    /// Publishes; true (no suspension) unless a `block` queue was full.
    /// **Thread-safety:** the awaiting coroutine's thread.
    bool await_ready() {
        struct Restore {
            detail::DeferredPushes* previous;
            ~Restore() { detail::deferring_now() = previous; }
        } restore{std::exchange(detail::deferring_now(), &pushes_)};
        count_ = publish_();
        return pushes_.entries.empty();
    }
    /// Suspends until every full `block` queue took its message or dropped it.
    /// **Thread-safety:** the awaiting coroutine's thread.
    void await_suspend(std::coroutine_handle<> h) {
        handle_ = h;
        arm();
    }
    /// The deliveries made.
    /// **Thread-safety:** the thread the coroutine resumed on.
    std::size_t await_resume() const noexcept {
        return count_ > dropped_ ? count_ - dropped_ : 0; // nested drops (see below)
    }

private:
    template <class P>
    friend PublishSuspending<P> publish_suspending(const Executor&, P);

    PublishSuspending(const Executor& on, Publish publish)
        : DeferredPublish(on), publish_(std::move(publish)) {}

    Publish publish_;
    std::size_t count_ = 0;
};

/// Publishes from a coroutine without blocking its thread on a full `block` queue:
/// `co_await herald::publish_suspending(on, [&] { return broker.publish(topic, value); })`.
/// `publish` is called at once on this thread (any publish of a broker, a publisher handle or
/// a scope). Where a `block` queue is full, the message is not waited for there: the
/// coroutine suspends and the message is pushed when the queue has room (retried from
/// herald's timer thread, with a backoff from 20 µs to 1 ms, on `on`), or dropped and counted
/// as `timed_out` after the queue's `block_timeout`. Every other subscriber has its message
/// when `publish` returns, as usual. Yields the deliveries made. Throws
/// `std::invalid_argument` if `on` is not a user executor.
/// **Thread-safety:** any coroutine. An inline handler that publishes from inside `publish`
/// (same thread) has its messages for full `block` queues wait with this coroutine too, and
/// their drops are taken off the count (never below 0). `on.submit` is called from the
/// timer thread and must not throw.
/// **Lifetime:** `publish` is kept in the awaitable until it has been called; `on` is copied.
/// Ordering: this coroutine's next publish comes after `co_await` returns, so its messages keep
/// their order in every queue.
template <class Publish>
PublishSuspending<Publish> publish_suspending(const Executor& on, Publish publish) {
    detail::check_resume_executor(on);
    return PublishSuspending<Publish>(on, std::move(publish));
}

HERALD_NAMESPACE_END
