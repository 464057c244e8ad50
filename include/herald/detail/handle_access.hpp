#pragma once
// How a broker makes the public handles, whose constructors from internal types are private:
// users never see a constructor that takes a detail type.

#include <herald/detail/queued_core.hpp>
#include <herald/detail/subscription_core.hpp>
#include <herald/mailbox.hpp>
#include <herald/subscription.hpp>
#include <herald/version.hpp>

#include <stdexcept>
#include <utility>

HERALD_NAMESPACE_BEGIN
namespace detail {

struct HandleAccess {
    /// A handle adopting one reference to `core`.
    static Subscription subscription(SubscriptionCore* core) noexcept { return Subscription(core); }

    /// A mailbox receiving from `core`, which `subscription` holds.
    template <class T>
    static Mailbox<T> mailbox(Subscription subscription, QueuedCore* core) noexcept {
        return Mailbox<T>(std::move(subscription), core);
    }

    /// The queue a mailbox receives from; null for an empty mailbox.
    template <class T>
    static QueuedCore* queue(Mailbox<T>& mailbox) noexcept {
        return mailbox.core_;
    }

    /// The queue of a polled subscription with a handler; throws `std::invalid_argument`
    /// for any other handle (what `poll()` would run nothing on).
    static QueuedCore& polled_queue(Subscription& subscription) {
        QueuedCore* q = subscription.core_ != nullptr ? queued_part(*subscription.core_) : nullptr;
        if (q == nullptr || !q->options.executor.is_polled() || q->ops->invoke == nullptr) {
            throw std::invalid_argument("herald: next(subscription, ...) needs a queued "
                                        "subscription with a handler on Executor::polled()");
        }
        return *q;
    }
};

} // namespace detail
HERALD_NAMESPACE_END
