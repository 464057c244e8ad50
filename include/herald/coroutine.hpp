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

HERALD_NAMESPACE_END
