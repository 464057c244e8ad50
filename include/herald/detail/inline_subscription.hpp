#pragma once
// A subscription whose handler runs on the publishing thread, before `publish` returns.

#include <herald/detail/publication.hpp>
#include <herald/detail/subscription_core.hpp>
#include <herald/detail/type_key.hpp>
#include <herald/handler.hpp>
#include <herald/message.hpp>
#include <herald/version.hpp>

#include <exception>
#include <new>
#include <utility>

HERALD_NAMESPACE_BEGIN
namespace detail {

/// The handler lives in place (no `std::optional`: the core's `handler_alive` says whether it
/// is still there), so a subscription with a small handler is one 72-byte allocation.
template <class T, class H>
struct InlineSubscription : SubscriptionCore {
    static constexpr bool envelope = !PayloadHandler<H, T>;

    /// `kind_ops` is `table()`, or a gated kind's table (gated_subscription.hpp).
    template <class F>
    InlineSubscription(const SubscriptionOps& kind_ops, F&& f)
        : SubscriptionCore(kind_ops, envelope) {
        ::new (static_cast<void*>(&storage.handler)) H(std::forward<F>(f));
    }
    InlineSubscription(const InlineSubscription&) = delete;
    InlineSubscription& operator=(const InlineSubscription&) = delete;
    ~InlineSubscription() { destroy_handler(*this); }

    static DeliveryOutcome deliver(SubscriptionCore& base, const Delivery& d) {
        auto& self = static_cast<InlineSubscription&>(base);
        Publication& p = d.publication;
        const Route& route = d.route;
        const T& payload = *static_cast<const T*>(p.payload);
        try {
            if constexpr (envelope) {
                self.storage.handler(Message<T>{route.kind, route.pattern, p.channel, payload,
                                                route.sequence, p.published_at});
            } else {
                self.storage.handler(payload);
            }
        } catch (...) {
            p.report(base, std::current_exception());
            return DeliveryOutcome::failed;
        }
        return DeliveryOutcome::received;
    }

    static void destroy_handler(SubscriptionCore& base) noexcept {
        auto& self = static_cast<InlineSubscription&>(base);
        if (self.handler_alive) {
            self.handler_alive = false;
            self.storage.handler.~H();
        }
    }

    static void destroy(SubscriptionCore* base) noexcept {
        delete static_cast<InlineSubscription*>(base);
    }

    static const SubscriptionOps& table() noexcept {
        static constexpr SubscriptionOps ops{
            &deliver, &destroy_handler, &destroy, &type_key<T>, nullptr, false, nullptr};
        return ops;
    }

    union Storage {
        Storage() noexcept {}
        ~Storage() {}
        H handler;
    } storage;
};

} // namespace detail
HERALD_NAMESPACE_END
