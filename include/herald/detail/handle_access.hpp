#pragma once
// How a broker makes the public handles, whose constructors from internal types are private:
// users never see a constructor that takes a detail type.

#include <herald/detail/queued_core.hpp>
#include <herald/detail/subscription_core.hpp>
#include <herald/mailbox.hpp>
#include <herald/subscription.hpp>
#include <herald/version.hpp>

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
};

} // namespace detail
HERALD_NAMESPACE_END
