#pragma once
/// \file
/// `herald::Subscription`, the move-only RAII handle of one subscription, and
/// `herald::SubscriptionGroup`, which drops many at once.

#include <herald/detail/core.hpp>
#include <herald/stats.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

HERALD_NAMESPACE_BEGIN

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
    /// An empty handle.
    Subscription() noexcept = default;

    /// Adopts one reference to `core` (used by brokers).
    explicit Subscription(detail::SubscriptionCore* core) noexcept : core_(core) {}

    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;

    Subscription(Subscription&& other) noexcept : core_(std::exchange(other.core_, nullptr)) {}

    /// Ends the current subscription (as `unsubscribe()` does), then takes `other`'s.
    Subscription& operator=(Subscription&& other) noexcept {
        if (this != &other) {
            reset();
            core_ = std::exchange(other.core_, nullptr);
        }
        return *this;
    }

    /// Ends the subscription. See the class's Lifetime note for what it waits for.
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
        if (auto broker = core_->broker.lock()) {
            broker->unsubscribe(*core_);
            return broker->stats(*core_);
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
        if (auto broker = core_->broker.lock()) {
            return broker->stats(*core_);
        }
        return final_stats();
    }

    /// A number unique among this process's subscriptions (also passed to the error hook).
    /// 0 for an empty handle.
    std::uint64_t id() const noexcept { return core_ != nullptr ? core_->id : 0; }

    /// For a queued subscription on `Executor::polled()`: runs the handler on this thread for
    /// every message queued now; returns how many ran. 0 for other subscriptions, and when
    /// another thread is running this handler at the moment (it never runs concurrently).
    /// **Thread-safety:** any thread.
    std::size_t poll() { return pump(static_cast<std::size_t>(-1), {}); }

    /// As `poll`, at most `max` messages.
    std::size_t drain(std::size_t max) { return pump(max, {}); }

    /// As `poll`, but if nothing is queued waits up to `timeout` for a message (or for the
    /// subscription to end) first.
    std::size_t wait_for(std::chrono::nanoseconds timeout) {
        return pump(static_cast<std::size_t>(-1), timeout);
    }

    /// True unless the handle is empty.
    explicit operator bool() const noexcept { return core_ != nullptr; }

    /// Leaves the subscription running for the broker's lifetime and empties this handle.
    /// **Lifetime:** the handler then lives until the broker shuts down.
    void detach() noexcept {
        if (core_ != nullptr) {
            std::exchange(core_, nullptr)->release();
        }
    }

private:
    std::size_t pump(std::size_t max, std::chrono::nanoseconds wait) {
        if (core_ == nullptr || core_->queue() == nullptr) {
            return 0;
        }
        return core_->queue()->pump(*core_, max, wait);
    }

    void reset() noexcept {
        if (core_ == nullptr) {
            return;
        }
        if (auto broker = core_->broker.lock()) {
            broker->unsubscribe(*core_);
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
        if (core_->queue() != nullptr) {
            core_->queue()->stats(*core_, s);
        } else {
            s.delivered = core_->offered_closed.load(std::memory_order_relaxed) - skipped - errors;
        }
        s.errors = errors;
        s.skipped = skipped;
        s.active = false;
        return s;
    }

    detail::SubscriptionCore* core_ = nullptr;
};

/// Owns many subscriptions and ends them together: the "unsubscribe_all(session)" of a
/// component, a connection or a session.
/// **Thread-safety:** like a container: not for concurrent use of one group object.
/// **Lifetime:** destroying the group ends every subscription in it, in reverse order of
/// addition.
class SubscriptionGroup {
public:
    SubscriptionGroup() = default;
    SubscriptionGroup(SubscriptionGroup&&) noexcept = default;
    SubscriptionGroup& operator=(SubscriptionGroup&& other) noexcept {
        if (this != &other) {
            unsubscribe_all();
            subscriptions_ = std::move(other.subscriptions_);
        }
        return *this;
    }
    ~SubscriptionGroup() { unsubscribe_all(); }

    /// Adds a subscription to the group.
    SubscriptionGroup& add(Subscription subscription) {
        subscriptions_.push_back(std::move(subscription));
        return *this;
    }
    /// Same as `add`.
    SubscriptionGroup& operator+=(Subscription subscription) {
        return add(std::move(subscription));
    }

    /// Ends every subscription in the group (newest first) and empties it.
    void unsubscribe_all() noexcept {
        while (!subscriptions_.empty()) {
            subscriptions_.pop_back();
        }
    }

    /// Number of handles held (including ones that already became inactive).
    std::size_t size() const noexcept { return subscriptions_.size(); }
    bool empty() const noexcept { return subscriptions_.empty(); }

private:
    std::vector<Subscription> subscriptions_;
};

HERALD_NAMESPACE_END
