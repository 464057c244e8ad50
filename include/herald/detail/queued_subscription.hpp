#pragma once
// The two queued subscription kinds: one with a handler (run on the broker's workers, a user
// executor or the subscriber's own thread) and one without, which a `Mailbox` receives from.

#include <herald/detail/message_node.hpp>
#include <herald/detail/publication.hpp>
#include <herald/detail/queued_core.hpp>
#include <herald/detail/subscription_core.hpp>
#include <herald/detail/type_key.hpp>
#include <herald/handler.hpp>
#include <herald/message.hpp>
#include <herald/queue.hpp>
#include <herald/version.hpp>

#include <exception>
#include <memory>
#include <optional>
#include <utility>

HERALD_NAMESPACE_BEGIN
namespace detail {

/// A queued subscription with a handler.
template <class T, class H>
struct QueuedSubscription : QueuedCore {
    static constexpr bool envelope = !PayloadHandler<H, T>;

    /// `kind_ops` is `table()`, or a gated kind's table (gated_subscription.hpp).
    template <class F>
    QueuedSubscription(const SubscriptionOps& kind_ops, F&& f, QueueOptions opts,
                       bool concurrent_broker)
        : QueuedCore(kind_ops, envelope, std::move(opts), concurrent_broker),
          handler(std::in_place, std::forward<F>(f)) {}

    /// Invokes the handler on one entry; false if it threw (reported to the broker).
    static bool invoke_one(QueuedCore& base, const QueueEntry& item) {
        auto& self = static_cast<QueuedSubscription&>(base);
        const T& payload = *static_cast<const T*>(item.node->payload);
        try {
            if constexpr (envelope) {
                const MessageKind kind =
                    self.pattern_subscription ? MessageKind::pmessage : MessageKind::message;
                (*self.handler)(Message<T>{kind, self.pattern_text, item.node->channel(), payload,
                                           item.sequence, item.node->published_at});
            } else {
                (*self.handler)(payload);
            }
            return true;
        } catch (...) {
            if (std::shared_ptr<SubscriptionHost> owner = self.host.lock()) {
                // rethrow_after acts as isolate off the publishing thread.
                owner->queued_handler_failed(self, Failure{item.node->channel(), self.pattern_text,
                                                           &payload, &payload_type_of<T>,
                                                           std::current_exception()});
            } else {
                self.errors.fetch_add(1, std::memory_order_relaxed);
            }
            return false;
        }
    }

    static void destroy_handler(SubscriptionCore& base) noexcept {
        static_cast<QueuedSubscription&>(base).handler.reset();
    }
    static void destroy(SubscriptionCore* base) noexcept {
        delete static_cast<QueuedSubscription*>(base);
    }
    static const SubscriptionOps& table() noexcept {
        static constexpr SubscriptionOps ops{&QueuedCore::enqueue,
                                             &destroy_handler,
                                             &destroy,
                                             &type_key<T>,
                                             &invoke_one,
                                             true,
                                             nullptr};
        return ops;
    }

    std::optional<H> handler;
};

/// A queued subscription without a handler: a `Mailbox<T>` receives from it.
template <class T>
struct MailboxCore : QueuedCore {
    /// `kind_ops` is `table()`, or a gated kind's table (gated_subscription.hpp).
    MailboxCore(const SubscriptionOps& kind_ops, QueueOptions opts, bool concurrent_broker)
        : QueuedCore(kind_ops, true, std::move(opts), concurrent_broker) {}

    static void destroy_handler(SubscriptionCore&) noexcept {}
    static void destroy(SubscriptionCore* base) noexcept { delete static_cast<MailboxCore*>(base); }
    static const SubscriptionOps& table() noexcept {
        static constexpr SubscriptionOps ops{
            &QueuedCore::enqueue, &destroy_handler, &destroy, &type_key<T>, nullptr, true, nullptr};
        return ops;
    }
};

} // namespace detail
HERALD_NAMESPACE_END
