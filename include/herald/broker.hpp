#pragma once
/// \file
/// `herald::Broker`: exact channels, typed topics and pattern subscriptions on one data path.
/// This header is the facade; docs/architecture.md shows the parts behind it.

#include <herald/detail/broker_impl.hpp>
#include <herald/detail/type_key.hpp>
#include <herald/errors.hpp>
#include <herald/fwd.hpp>
#include <herald/handler.hpp>
#include <herald/mailbox.hpp>
#include <herald/message.hpp>
#include <herald/options.hpp>
#include <herald/pattern.hpp>
#include <herald/publisher.hpp>
#include <herald/queue.hpp>
#include <herald/scope.hpp>
#include <herald/stats.hpp>
#include <herald/subscribe_options.hpp>
#include <herald/subscription.hpp>
#include <herald/topic.hpp>
#include <herald/version.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

HERALD_NAMESPACE_BEGIN

namespace detail {
struct BrokerAccess;
} // namespace detail

/// The broker: exact channels, typed topics and pattern subscriptions, delivered inline on the
/// publishing thread or through bounded queues.
///
/// `Payload` is the payload type of string channels (`subscribe("name", ...)`,
/// `publish("name", ...)`); typed topics carry their own. `Policy` is `thread_safe` (default)
/// or `single_threaded`.
///
/// **Thread-safety (thread_safe policy):** every member function may be called concurrently
/// from any thread and from inside handlers. No lock is held while a handler runs.
/// **Thread-safety (single_threaded policy):** one thread only; handlers may still call back
/// into the broker.
/// **Lifetime:** destroying the broker ends every subscription (their handles become inert)
/// after dispatches running on other threads have finished. It must not be destroyed from
/// inside one of its own handlers, nor while another thread calls one of its member functions.
template <class Payload, class Policy>
class Broker {
    static_assert(std::is_same_v<Policy, thread_safe> || std::is_same_v<Policy, single_threaded>,
                  "herald::Broker: Policy must be herald::thread_safe or herald::single_threaded");
    using Impl = detail::BrokerImpl<Policy>;

public:
    /// The payload type of the broker's string channels.
    using payload_type = Payload;
    /// The concurrency policy, `thread_safe` or `single_threaded`.
    using policy_type = Policy;
    /// The publisher type of this broker for payload type `T` (see `publisher`).
    template <class T>
    using Publisher = herald::Publisher<T, Policy>;

    /// A broker with default options; starts no thread (the worker pool starts with the first
    /// queued subscription on the default executor).
    /// **Thread-safety:** any thread; the broker may then be used from other threads.
    /// **Lifetime:** the broker owns every subscription made on it until it is destroyed.
    Broker() : Broker(BrokerOptions{}) {}

    /// A broker with `options`. Throws `std::invalid_argument` for an out-of-range option
    /// (`max_depth` of 0 or above `HERALD_MAX_DISPATCH_DEPTH`, `workers` of 0).
    /// **Thread-safety:** any thread; the broker may then be used from other threads.
    /// **Lifetime:** `options` is copied; `options()` returns the broker's copy.
    explicit Broker(BrokerOptions options) : impl_(std::make_shared<Impl>(std::move(options))) {}

    /// Not copyable (nor movable): handles and publishers refer to this broker.
    Broker(const Broker&) = delete;
    /// Not copy-assignable (nor movable): handles and publishers refer to this broker.
    Broker& operator=(const Broker&) = delete;

    /// Shuts down with `ShutdownMode::drain`: queued messages are delivered, then every
    /// subscription ends and the worker threads are joined.
    /// **Thread-safety:** not from inside one of this broker's handlers, nor while another
    /// thread calls one of its member functions.
    /// **Lifetime:** handlers are destroyed before it returns; handles become inert and
    /// publishers made by `publisher` deliver to nobody (both may outlive the broker).
    ~Broker() { impl_->shutdown(); }

    // ---- subscribe -----------------------------------------------------------------------
    //
    // Every form takes, last, optional `conditions`: `herald::filter(predicate)` and
    // `herald::dedup(key, window)` (subscribe_options.hpp), at most one of each, checked on the
    // publishing thread before the handler runs or the message is enqueued. A message they
    // refuse does not make the subscription a receiver and is counted in its stats
    // (`filtered`, `duplicates`); subscriptions without conditions do not pay for them.

    /// Subscribes `handler` to the string channel `channel` (any bytes, empty allowed), invoked
    /// on the publishing thread. The subscription is live when this returns; it does not see
    /// messages published before. Throws `type_mismatch_error` if the channel is in use with
    /// another payload type, `broker_closed_error` after `shutdown`.
    /// **Thread-safety:** any thread (a single_threaded broker: its one thread), including from
    /// inside a handler (a subscription added during a dispatch does not receive the message
    /// being dispatched).
    /// **Lifetime:** the subscription lasts as long as the returned handle: dropping the handle
    /// unsubscribes at once. The handler is destroyed after the subscription ends and no
    /// dispatch can still reach it.
    template <class H, SubscribeOption... C>
    requires Handler<H, Payload>
    [[nodiscard("dropping the handle unsubscribes at once")]] Subscription
    subscribe(std::string_view channel, H&& handler, C&&... conditions) {
        return impl_->template subscribe<Payload>(
            channel, std::forward<H>(handler),
            std::forward_as_tuple(std::forward<C>(conditions)...));
    }

    /// Subscribes `handler` to the typed topic `topic`, invoked on the publishing thread.
    /// Throws `type_mismatch_error` if the channel is in use with another payload type,
    /// `broker_closed_error` after `shutdown`.
    /// **Thread-safety:** any thread (a single_threaded broker: its one thread), including from
    /// inside a handler.
    /// **Lifetime:** the subscription lasts as long as the returned handle; the handler is
    /// destroyed once no dispatch can reach it. `topic` need only live for the call.
    template <class T, class H, SubscribeOption... C>
    requires Handler<H, T>
    [[nodiscard("dropping the handle unsubscribes at once")]] Subscription
    subscribe(const Topic<T>& topic, H&& handler, C&&... conditions) {
        return impl_->template subscribe<T>(topic.name(), std::forward<H>(handler),
                                            std::forward_as_tuple(std::forward<C>(conditions)...));
    }

    /// Subscribes `handler` to every channel matching `pattern` (a Redis glob when given as a
    /// string; `nats_pattern(...)` and `mqtt_pattern(...)` for token patterns), for publishes
    /// whose payload type is `Payload`. Handlers taking `Message` see `kind == pmessage` and
    /// the pattern. A channel matched by an exact subscription and a pattern (or by two
    /// patterns) delivers once per subscription, as Redis does. Throws `broker_closed_error`
    /// after `shutdown`.
    /// **Thread-safety:** any thread (a single_threaded broker: its one thread), including from
    /// inside a handler.
    /// **Lifetime:** the subscription lasts as long as the returned handle; the handler is
    /// destroyed once no dispatch can reach it. The broker keeps its own copy of `pattern`.
    template <class H, SubscribeOption... C>
    requires Handler<H, Payload>
    [[nodiscard("dropping the handle unsubscribes at once")]] Subscription
    psubscribe(Pattern pattern, H&& handler, C&&... conditions) {
        return impl_->template psubscribe<Payload>(
            std::move(pattern), std::forward<H>(handler),
            std::forward_as_tuple(std::forward<C>(conditions)...));
    }

    /// Subscribes `handler` to every channel matching `pattern`, for publishes of payload
    /// type `T` (`broker.psubscribe<DriverStatus>("drivers:*", ...)`); matching channels of
    /// another payload type are skipped and counted. Throws `broker_closed_error` after
    /// `shutdown`.
    /// **Thread-safety:** any thread (a single_threaded broker: its one thread), including from
    /// inside a handler.
    /// **Lifetime:** the subscription lasts as long as the returned handle; the handler is
    /// destroyed once no dispatch can reach it. The broker keeps its own copy of `pattern`.
    template <class T, class H, SubscribeOption... C>
    requires Handler<H, T>
    [[nodiscard("dropping the handle unsubscribes at once")]] Subscription
    psubscribe(Pattern pattern, H&& handler, C&&... conditions) {
        return impl_->template psubscribe<T>(std::move(pattern), std::forward<H>(handler),
                                             std::forward_as_tuple(std::forward<C>(conditions)...));
    }

    // ---- queued subscriptions --------------------------------------------------------------

    /// Subscribes `handler` with a bounded queue: publishing enqueues (one shared node per
    /// publish, no copy per subscriber) and the handler runs where `options.executor` says:
    /// the broker's workers by default, a user executor, or the subscriber's own thread via
    /// `Subscription::poll()`/`drain()`/`wait_for()`. The handler never runs concurrently with
    /// itself and sees each publishing thread's messages in publish order. A full queue
    /// applies `options.overflow`; every drop is counted. Throws `queue_options_error` for a
    /// capacity of 0 (or the default executor on a single_threaded broker),
    /// `type_mismatch_error` if the channel is in use with another payload type.
    /// **Thread-safety:** any thread (a single_threaded broker: its one thread), including from
    /// inside a handler.
    /// **Lifetime:** unsubscribing discards what is still queued (counted as dropped) and
    /// waits for an invocation running on another thread. A user executor in `options` must
    /// outlive the subscription.
    template <class H, SubscribeOption... C>
    requires Handler<H, Payload>
    [[nodiscard("dropping the handle unsubscribes at once")]] Subscription
    subscribe(std::string_view channel, H&& handler, QueueOptions options, C&&... conditions) {
        return impl_->template subscribe_queued<Payload>(
            channel, std::forward<H>(handler), std::move(options),
            std::forward_as_tuple(std::forward<C>(conditions)...));
    }

    /// Subscribes `handler` to the typed topic `topic` with a bounded queue of
    /// `options.capacity` messages: publishing enqueues, the handler runs where
    /// `options.executor` says (never concurrently with itself) and a full queue applies
    /// `options.overflow`. Throws `queue_options_error` for a capacity of 0 (or the default
    /// executor on a single_threaded broker), `type_mismatch_error` if the channel is in use
    /// with another payload type.
    /// **Thread-safety:** any thread (a single_threaded broker: its one thread), including from
    /// inside a handler.
    /// **Lifetime:** unsubscribing discards what is still queued (counted as dropped) and
    /// waits for an invocation running on another thread. A user executor in `options` must
    /// outlive the subscription.
    template <class T, class H, SubscribeOption... C>
    requires Handler<H, T>
    [[nodiscard("dropping the handle unsubscribes at once")]] Subscription
    subscribe(const Topic<T>& topic, H&& handler, QueueOptions options, C&&... conditions) {
        return impl_->template subscribe_queued<T>(
            topic.name(), std::forward<H>(handler), std::move(options),
            std::forward_as_tuple(std::forward<C>(conditions)...));
    }

    /// Subscribes `handler` to every channel matching `pattern`, for payload type `Payload`,
    /// with a bounded queue of `options.capacity` messages run where `options.executor` says
    /// (never concurrently with itself) under the overflow policy `options.overflow`. Throws
    /// `queue_options_error` for a capacity of 0 (or the default executor on a
    /// single_threaded broker).
    /// **Thread-safety:** any thread (a single_threaded broker: its one thread), including from
    /// inside a handler.
    /// **Lifetime:** unsubscribing discards what is still queued (counted as dropped) and
    /// waits for an invocation running on another thread. A user executor in `options` must
    /// outlive the subscription.
    template <class H, SubscribeOption... C>
    requires Handler<H, Payload>
    [[nodiscard("dropping the handle unsubscribes at once")]] Subscription
    psubscribe(Pattern pattern, H&& handler, QueueOptions options, C&&... conditions) {
        return impl_->template psubscribe_queued<Payload>(
            std::move(pattern), std::forward<H>(handler), std::move(options),
            std::forward_as_tuple(std::forward<C>(conditions)...));
    }

    /// Subscribes `handler` to every channel matching `pattern`, for payload type `T`, with a
    /// bounded queue of `options.capacity` messages run where `options.executor` says (never
    /// concurrently with itself) under the overflow policy `options.overflow`. Throws
    /// `queue_options_error` for a capacity of 0 (or the default executor on a
    /// single_threaded broker).
    /// **Thread-safety:** any thread (a single_threaded broker: its one thread), including from
    /// inside a handler.
    /// **Lifetime:** unsubscribing discards what is still queued (counted as dropped) and
    /// waits for an invocation running on another thread. A user executor in `options` must
    /// outlive the subscription.
    template <class T, class H, SubscribeOption... C>
    requires Handler<H, T>
    [[nodiscard("dropping the handle unsubscribes at once")]] Subscription
    psubscribe(Pattern pattern, H&& handler, QueueOptions options, C&&... conditions) {
        return impl_->template psubscribe_queued<T>(
            std::move(pattern), std::forward<H>(handler), std::move(options),
            std::forward_as_tuple(std::forward<C>(conditions)...));
    }

    /// A mailbox on a string channel: a queued subscription without a handler, consumed on
    /// the caller's thread with `try_receive`, `receive_for`, `receive` or
    /// `for (auto& m : mailbox.listen())`. `options.executor` must be left at its default
    /// (a user executor throws `queue_options_error`, as does a capacity of 0).
    /// **Thread-safety:** any thread (a single_threaded broker: its one thread), including from
    /// inside a handler.
    /// **Lifetime:** dropping the mailbox unsubscribes and discards what it holds (counted).
    template <SubscribeOption... C>
    [[nodiscard("dropping the mailbox unsubscribes at once")]] Mailbox<Payload>
    subscribe(std::string_view channel, QueueOptions options, C&&... conditions) {
        return impl_->template mailbox<Payload>(
            channel, std::move(options), std::forward_as_tuple(std::forward<C>(conditions)...));
    }

    /// A mailbox on the typed topic `topic`: a queued subscription without a handler, received
    /// on the caller's thread. A user executor in `options` or a capacity of 0 throws
    /// `queue_options_error`; a channel in use with another payload type `type_mismatch_error`.
    /// **Thread-safety:** any thread (a single_threaded broker: its one thread), including from
    /// inside a handler.
    /// **Lifetime:** dropping the mailbox unsubscribes and discards what it holds (counted).
    template <class T, SubscribeOption... C>
    [[nodiscard("dropping the mailbox unsubscribes at once")]] Mailbox<T>
    subscribe(const Topic<T>& topic, QueueOptions options, C&&... conditions) {
        return impl_->template mailbox<T>(topic.name(), std::move(options),
                                          std::forward_as_tuple(std::forward<C>(conditions)...));
    }

    /// A mailbox on every channel matching `pattern`, for payload type `Payload`: a queued
    /// subscription without a handler, received on the caller's thread. A user executor in
    /// `options` or a capacity of 0 throws `queue_options_error`.
    /// **Thread-safety:** any thread (a single_threaded broker: its one thread), including from
    /// inside a handler.
    /// **Lifetime:** dropping the mailbox unsubscribes and discards what it holds (counted).
    template <SubscribeOption... C>
    [[nodiscard("dropping the mailbox unsubscribes at once")]] Mailbox<Payload>
    psubscribe(Pattern pattern, QueueOptions options, C&&... conditions) {
        return impl_->template pmailbox<Payload>(
            std::move(pattern), std::move(options),
            std::forward_as_tuple(std::forward<C>(conditions)...));
    }

    /// A mailbox on every channel matching `pattern`, for payload type `T`: a queued
    /// subscription without a handler, received on the caller's thread. A user executor in
    /// `options` or a capacity of 0 throws `queue_options_error`.
    /// **Thread-safety:** any thread (a single_threaded broker: its one thread), including from
    /// inside a handler.
    /// **Lifetime:** dropping the mailbox unsubscribes and discards what it holds (counted).
    template <class T, SubscribeOption... C>
    [[nodiscard("dropping the mailbox unsubscribes at once")]] Mailbox<T>
    psubscribe(Pattern pattern, QueueOptions options, C&&... conditions) {
        return impl_->template pmailbox<T>(std::move(pattern), std::move(options),
                                           std::forward_as_tuple(std::forward<C>(conditions)...));
    }

    // ---- publish -------------------------------------------------------------------------

    /// Publishes `payload` on the string channel `channel`, running every matching inline
    /// handler on this thread before returning. Returns the number of receivers as Redis
    /// `PUBLISH` does: one per matching subscription (exact and pattern). A message nobody
    /// receives is gone. The payload is shared by reference among all receivers, never copied
    /// per subscriber; a queued subscription gets one copy shared by every queue.
    /// **Thread-safety:** any thread (a single_threaded broker: its one thread), including from
    /// inside a handler (nesting is bounded by `BrokerOptions::max_depth`; beyond it
    /// `dispatch_depth_error` is thrown).
    /// **Lifetime:** `payload` need only live for the call.
    std::size_t publish(std::string_view channel, const Payload& payload) {
        static_assert(std::is_copy_constructible_v<Payload>,
                      "herald: this payload type cannot be copied: publish it as an rvalue "
                      "(std::move), which queued subscribers then share");
        return impl_->template publish<Payload>(channel, payload, nullptr);
    }

    /// Publishes the rvalue `payload` on the string channel `channel`, running every matching
    /// inline handler on this thread; moved (never copied) into the message node when a queued
    /// subscription needs one. Returns the number of receivers, as Redis `PUBLISH` does.
    /// **Thread-safety:** any thread (a single_threaded broker: its one thread), including from
    /// inside a handler.
    /// **Lifetime:** `payload` may be moved from (only if a queued subscription received it).
    std::size_t publish(std::string_view channel, Payload&& payload) {
        return impl_->template publish<Payload>(channel, payload, &payload);
    }

    /// Publishes a value convertible to `Payload` (e.g. a string literal) on the string
    /// channel `channel`: the payload is constructed once, then published as an rvalue.
    /// Returns the number of receivers.
    /// **Thread-safety:** any thread (a single_threaded broker: its one thread), including from
    /// inside a handler.
    /// **Lifetime:** `value` need only live for the call.
    template <class U>
    requires(!std::same_as<std::remove_cvref_t<U>, Payload> &&
             std::constructible_from<Payload, U>) std::size_t
        publish(std::string_view channel, U&& value) {
        Payload payload(std::forward<U>(value));
        return impl_->template publish<Payload>(channel, payload, &payload);
    }

    /// Publishes on a typed topic. Anything but a `T` (or, for string topics, a string) does
    /// not compile. Throws `type_mismatch_error` if the channel is in use with another type.
    /// Returns the number of receivers.
    /// **Thread-safety:** any thread (a single_threaded broker: its one thread), including from
    /// inside a handler.
    /// **Lifetime:** `payload` need only live for the call.
    template <class T>
    std::size_t publish(const Topic<T>& topic, const T& payload) {
        static_assert(std::is_copy_constructible_v<T>,
                      "herald: this payload type cannot be copied: publish it as an rvalue "
                      "(std::move), which queued subscribers then share");
        return impl_->template publish_hashed<T>(topic.name(), detail::TopicAccess::hash(topic),
                                                 payload, nullptr);
    }

    /// Publishes the rvalue `payload` on the typed topic `topic`, moved (never copied) into the
    /// message node when a queued subscription needs one. Throws `type_mismatch_error` if the
    /// channel is in use with another type. Returns the number of receivers.
    /// **Thread-safety:** any thread (a single_threaded broker: its one thread), including from
    /// inside a handler.
    /// **Lifetime:** `payload` may be moved from (only if a queued subscription received it).
    template <class T>
    std::size_t publish(const Topic<T>& topic, T&& payload) {
        return impl_->template publish_hashed<T>(topic.name(), detail::TopicAccess::hash(topic),
                                                 payload, &payload);
    }

    /// Publishes a string-like value (a literal, a `std::string_view`) on a `Topic<std::string>`:
    /// the payload is constructed once, then published as an rvalue. Returns the number of
    /// receivers.
    /// **Thread-safety:** any thread (a single_threaded broker: its one thread), including from
    /// inside a handler.
    /// **Lifetime:** `value` need only live for the call.
    template <class T, class U>
    requires(PublishableTo<U, T> && !std::same_as<std::remove_cvref_t<U>, T>) std::size_t
        publish(const Topic<T>& topic, U&& value) {
        T payload(std::forward<U>(value));
        return impl_->template publish_hashed<T>(topic.name(), detail::TopicAccess::hash(topic),
                                                 payload, &payload);
    }

    /// Anything else published on a typed topic: a compile error that says so first, instead
    /// of a list of the overloads that did not match.
    /// **Thread-safety:** never called (it does not compile).
    template <class T, class U>
    requires(!PublishableTo<U, T>) std::size_t publish(const Topic<T>& topic, U&& value) {
        static_assert(detail::always_false<U>,
                      "herald: the value published on a Topic<T> must be a T (for string topics, "
                      "anything convertible to std::string_view): see the PublishableTo concept");
        (void)topic;
        (void)value;
        return 0;
    }

    /// A publisher bound to `topic` that skips the channel lookup on every publish.
    /// Throws `type_mismatch_error` if the channel is in use with another type.
    /// **Thread-safety:** any thread (a single_threaded broker: its one thread), including from
    /// inside a handler; takes the writer lock briefly.
    /// **Lifetime:** the publisher keeps the channel's routing node alive and may outlive the
    /// broker (it then delivers to nobody).
    template <class T>
    [[nodiscard]] Publisher<T> publisher(const Topic<T>& topic) {
        return Publisher<T>(impl_, impl_->pin(topic.name(), detail::type_key<T>));
    }

    // ---- scopes --------------------------------------------------------------------------

    /// A view of this broker under `prefix` (any bytes): channels, patterns and introspection
    /// through it are relative to the prefix (see `Scope` and docs/scopes.md). Typed topics are
    /// not prefixed. Cheap: a shared reference to the broker's state and a copy of the prefix.
    /// **Thread-safety:** any thread, also from handlers.
    /// **Lifetime:** the scope may outlive this broker: it then behaves as a shut-down broker
    /// (see `Scope`); subscriptions made through it may outlive both.
    [[nodiscard]] Scope<Payload, Policy> scope(std::string_view prefix) {
        return Scope<Payload, Policy>(*this, prefix);
    }

    // ---- introspection (Redis PUBSUB) -----------------------------------------------------

    /// Channels with at least one exact subscriber, sorted. Like `PUBSUB CHANNELS` without a
    /// pattern: every channel, the empty name included (which the glob `*` does not match,
    /// exactly as in Redis).
    /// **Thread-safety:** any thread, also from handlers; takes the writer lock briefly.
    /// **Lifetime:** the names are copies, valid after the channels are gone.
    std::vector<std::string> channels() const { return impl_->channels(nullptr); }

    /// Channels with at least one exact subscriber whose name matches the Redis glob `glob`,
    /// sorted. Like `PUBSUB CHANNELS pattern`.
    /// **Thread-safety:** any thread, also from handlers; takes the writer lock briefly.
    /// **Lifetime:** `glob` need only live for the call; the names are copies.
    std::vector<std::string> channels(std::string_view glob) const {
        return impl_->channels(&glob);
    }

    /// Number of exact subscribers of `channel`, like `PUBSUB NUMSUB`.
    /// **Thread-safety:** any thread, also from handlers; takes the writer lock briefly.
    std::size_t numsub(std::string_view channel) const { return impl_->numsub(channel); }

    /// Number of exact subscribers of each channel, in the order given, like
    /// `PUBSUB NUMSUB a b c` (a channel without subscribers counts 0).
    /// **Thread-safety:** any thread, also from handlers; takes the writer lock once per
    /// channel (the counts are not one atomic snapshot).
    std::vector<std::pair<std::string, std::size_t>>
    numsub(std::initializer_list<std::string_view> channels) const {
        std::vector<std::pair<std::string, std::size_t>> counts;
        counts.reserve(channels.size());
        for (std::string_view c : channels) {
            counts.emplace_back(std::string(c), impl_->numsub(c));
        }
        return counts;
    }

    /// Number of distinct patterns with at least one subscriber, like `PUBSUB NUMPAT`.
    /// **Thread-safety:** any thread, also from handlers; takes the writer lock briefly.
    std::size_t numpat() const { return impl_->numpat(); }

    /// The distinct patterns with at least one subscriber (the ones `numpat` counts), sorted
    /// by grammar, then text, then separator. Redis has no such command; herald offers it so
    /// that a `Scope` can count and list the patterns under its prefix.
    /// **Thread-safety:** any thread, also from handlers; takes the writer lock briefly.
    /// **Lifetime:** the patterns are copies, valid after their subscriptions are gone.
    std::vector<Pattern> patterns() const { return impl_->patterns(); }

    /// Broker-wide counters.
    /// **Thread-safety:** any thread, also from handlers; takes the writer lock briefly and
    /// walks the channels once (O(channels)).
    BrokerStats stats() const { return impl_->stats(); }

    /// Total pattern evaluations (full matcher calls) so far: how much matching publishes
    /// cost, independent of timing. Used by tests and benchmarks.
    /// **Thread-safety:** any thread, also from handlers; a relaxed read, so evaluations of
    /// publishes still running on other threads may not be counted yet.
    std::uint64_t pattern_evaluations() const { return impl_->pattern_evaluations(); }

    // ---- errors and shutdown --------------------------------------------------------------

    /// Sets the error hook, called for every handler exception and queue disconnect with the
    /// channel, pattern and subscription id. Replaces the previous hook; an empty function
    /// removes it. Without a hook (the default), the first failure of each subscription is
    /// written to stderr as one line and later ones are only counted; a hook that does nothing
    /// silences that. The hook runs on the thread where the failure happened and must not
    /// throw (what it throws is swallowed).
    /// **Thread-safety:** any thread, also from handlers and from the hook itself (it is called
    /// outside the broker's locks).
    /// **Lifetime:** the broker keeps a copy of `hook` until it is replaced or the broker is
    /// destroyed; a failure being reported on another thread may still use the old one.
    void on_error(std::function<void(const ErrorInfo&)> hook) { impl_->on_error(std::move(hook)); }

    /// Ends every subscription (their handles become inert) and makes later publishes deliver
    /// to nobody; waits for dispatches running on other threads to finish. Messages still
    /// queued are delivered first (`drain`, on the calling thread, the handler never running
    /// concurrently with itself) or dropped and counted (`discard`); mailboxes keep theirs
    /// for their receivers under `drain`. Then the worker threads are joined. Idempotent.
    /// **Thread-safety:** any thread except from inside one of this broker's handlers.
    /// **Lifetime:** handlers are destroyed before this returns; the broker object itself
    /// stays valid (publishes return 0, subscribes throw `broker_closed_error`).
    void shutdown(ShutdownMode mode = ShutdownMode::drain) noexcept { impl_->shutdown(mode); }

    /// The options the broker was built with.
    /// **Thread-safety:** any thread (they never change).
    /// **Lifetime:** the reference is valid while the broker lives.
    const BrokerOptions& options() const noexcept { return impl_->options(); }

private:
    friend struct detail::BrokerAccess;
    std::shared_ptr<Impl> impl_;
};

namespace detail {

/// What herald's own optional parts (the Redis bridge) reach behind the facade: the
/// extension hooks and local-only publishing.
struct BrokerAccess {
    template <class Payload, class Policy>
    static BrokerImpl<Policy>& impl(Broker<Payload, Policy>& broker) noexcept {
        return *broker.impl_;
    }
    template <class Payload, class Policy>
    static std::shared_ptr<BrokerImpl<Policy>> shared(Broker<Payload, Policy>& broker) noexcept {
        return broker.impl_;
    }
};

} // namespace detail

HERALD_NAMESPACE_END
