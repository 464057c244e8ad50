#pragma once
/// \file
/// `herald::Subscription`, the move-only RAII handle of one subscription.

#include <herald/detail/platform.hpp>
#include <herald/detail/queued_core.hpp>
#include <herald/detail/subscription_core.hpp>
#include <herald/stats.hpp>
#include <herald/version.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

HERALD_NAMESPACE_BEGIN

namespace detail {
struct HandleAccess;
} // namespace detail

/// A subscription's handle. Destroying it (or calling `unsubscribe()`) ends the subscription.
/// Move-only; a default-constructed or moved-from handle is empty and inert.
///
/// **Thread-safety:** one handle object must not be used from two threads at once (like any
/// object), but a handle may be destroyed or unsubscribed on any thread, including while its
/// handler runs on another thread or inside that handler itself.
/// **Lifetime:** when `unsubscribe()` or the destructor returns on thread A while the handler
/// runs on thread B, that invocation has finished and the handler never runs again, so what it
/// captured may be destroyed. Inside its own handler the call returns at once (the running
/// invocation continues to its end). A handle that outlives its broker is inert: `active()` is
/// false and destroying it is safe.
class Subscription {
public:
    /// An empty handle: inert, `active()` is false.
    /// **Thread-safety:** any thread.
    Subscription() noexcept = default;

    /// Not copyable: one handle owns one subscription.
    Subscription(const Subscription&) = delete;
    /// Not copy-assignable: one handle owns one subscription.
    Subscription& operator=(const Subscription&) = delete;

    /// Takes over `other`'s subscription; `other` becomes empty.
    /// **Thread-safety:** not while another thread uses `other`; the subscription's handler
    /// may keep running on other threads meanwhile.
    /// **Lifetime:** the subscription now lasts as long as this handle.
    Subscription(Subscription&& other) noexcept : core_(std::exchange(other.core_, nullptr)) {}

    /// Ends the current subscription (as `unsubscribe()` does), then takes `other`'s; `other`
    /// becomes empty.
    /// **Thread-safety:** not while another thread uses either handle.
    /// **Lifetime:** returns after an invocation of the old handler running on another thread
    /// has finished (at once from inside that handler); what was queued for it is discarded.
    Subscription& operator=(Subscription&& other) noexcept {
        if (this != &other) {
            reset();
            core_ = std::exchange(other.core_, nullptr);
        }
        return *this;
    }

    /// Ends the subscription (as `unsubscribe()` does); nothing for an empty handle.
    /// **Thread-safety:** any thread, including from inside any handler of the same broker,
    /// but not while another thread uses this handle.
    /// **Lifetime:** returns after an invocation running on another thread has finished (at
    /// once from inside its own handler); what is still queued is discarded and counted. Safe
    /// after the broker is gone.
    ~Subscription() { reset(); }

    /// Ends the subscription and returns its final counters. Idempotent: later calls return
    /// the same final counters with `active == false`.
    /// **Thread-safety:** any thread, including from inside any handler of the same broker.
    /// **Lifetime:** returns after an invocation running on another thread has finished; from
    /// inside its own handler, returns at once. Messages still queued for it are discarded and
    /// counted as dropped.
    SubscriptionStats unsubscribe() {
        if (core_ == nullptr) {
            return {};
        }
        if (auto host = core_->host.lock()) {
            host->unsubscribe(*core_);
            return host->stats(*core_);
        }
        return final_stats();
    }

    /// True while the subscription receives messages: false after `unsubscribe()`, after a
    /// `disconnect` overflow, after its broker shut down, and for an empty handle.
    /// **Thread-safety:** any thread.
    bool active() const noexcept { return core_ != nullptr && core_->is_active(); }

    /// The subscription's counters.
    /// **Thread-safety:** any thread; takes the broker's writer lock briefly.
    SubscriptionStats stats() const {
        if (core_ == nullptr) {
            return {};
        }
        if (auto host = core_->host.lock()) {
            return host->stats(*core_);
        }
        return final_stats();
    }

    /// A number unique among this process's subscriptions (also passed to the error hook).
    /// 0 for an empty handle.
    /// **Thread-safety:** any thread.
    std::uint64_t id() const noexcept { return core_ != nullptr ? core_->id : 0; }

    /// For a queued subscription on `Executor::polled()`: runs the handler on this thread for
    /// every message queued now; returns how many ran. 0 for other subscriptions, and when
    /// another thread is running this handler at the moment (it never runs concurrently).
    /// **Thread-safety:** any thread, also from inside another subscription's handler.
    /// **Lifetime:** each message is let go when its invocation returns; what a handler throws
    /// is counted and reported (error hook, dead letters), never thrown from here.
    std::size_t poll() { return pump(static_cast<std::size_t>(-1), {}); }

    /// For a queued subscription on `Executor::polled()`: runs the handler on this thread for
    /// at most `max` of the messages queued now; returns how many ran. 0 for other
    /// subscriptions, and when another thread is running this handler at the moment.
    /// **Thread-safety:** any thread, also from inside another subscription's handler.
    /// **Lifetime:** each message is let go when its invocation returns; what a handler throws
    /// is counted and reported (error hook, dead letters), never thrown from here.
    std::size_t drain(std::size_t max) { return pump(max, {}); }

    /// For a queued subscription on `Executor::polled()`: runs the handler on this thread for
    /// every message queued now, first waiting up to `timeout` for one if none is (or until
    /// the subscription ends); returns how many ran. 0 for other subscriptions, and when
    /// another thread is running this handler at the moment.
    /// **Thread-safety:** any thread; an `unsubscribe` or broker shutdown on another thread
    /// ends the wait.
    /// **Lifetime:** each message is let go when its invocation returns; what a handler throws
    /// is counted and reported (error hook, dead letters), never thrown from here.
    std::size_t wait_for(std::chrono::nanoseconds timeout) {
        return pump(static_cast<std::size_t>(-1), timeout);
    }

    /// True unless the handle is empty (an ended subscription's handle is not empty: see
    /// `active()`).
    /// **Thread-safety:** any thread.
    explicit operator bool() const noexcept { return core_ != nullptr; }

    /// Leaves the subscription running for the broker's lifetime and empties this handle.
    /// **Thread-safety:** not while another thread uses this handle.
    /// **Lifetime:** the handler then lives until the broker shuts down.
    void detach() noexcept {
        if (core_ != nullptr) {
            std::exchange(core_, nullptr)->release();
        }
    }

private:
    friend struct detail::HandleAccess;
    /// Adopts one reference to `core`.
    explicit Subscription(detail::SubscriptionCore* core) noexcept : core_(core) {}

    std::size_t pump(std::size_t max, std::chrono::nanoseconds wait) {
        detail::QueuedCore* q = core_ != nullptr ? detail::queued_part(*core_) : nullptr;
        return q != nullptr ? q->poll(max, wait) : 0;
    }

    void reset() noexcept {
        if (core_ == nullptr) {
            return;
        }
        if (auto host = core_->host.lock()) {
            host->unsubscribe(*core_);
        }
        std::exchange(core_, nullptr)->release();
    }

    SubscriptionStats final_stats() const noexcept {
        // The broker is gone. It wrote these counters before its last reference was released,
        // which the failed weak_ptr::lock() observed with a relaxed read: this fence makes that
        // a synchronisation, so the final values are visible here.
        detail::acquire_fence();
        SubscriptionStats s;
        const std::uint64_t skipped = core_->skipped.load(std::memory_order_relaxed);
        const std::uint64_t errors = core_->errors.load(std::memory_order_relaxed);
        detail::fill_gate_stats(*core_, s);
        if (const detail::QueuedCore* q = detail::queued_part(*core_)) {
            q->fill_stats(s);
        } else {
            s.delivered = core_->offered_closed.load(std::memory_order_relaxed) - skipped - errors -
                          s.filtered - s.duplicates;
        }
        s.errors = errors;
        s.skipped = skipped;
        s.active = false;
        return s;
    }

    detail::SubscriptionCore* core_ = nullptr;
};

HERALD_NAMESPACE_END
