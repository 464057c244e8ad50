#pragma once
/// \file
/// `herald::Mailbox<T>`: a queued subscription consumed on the caller's own thread, the
/// `pubsub.listen()` loop of Redis clients.

#include <herald/detail/message_node.hpp>
#include <herald/detail/queued_core.hpp>
#include <herald/message.hpp>
#include <herald/subscription.hpp>

#include <chrono>
#include <cstddef>
#include <iterator>
#include <optional>
#include <utility>

HERALD_NAMESPACE_BEGIN

template <class T>
class Mailbox;

/// A received message that owns what it refers to: a `Message<T>` (kind, pattern, channel,
/// payload, sequence, publish time) that stays valid as long as the envelope lives.
/// **Thread-safety:** immutable; copies may be used on any thread.
template <class T>
class Envelope : public Message<T> {
public:
    /// A copy sharing the same message (no copy of the payload).
    /// **Thread-safety:** any thread.
    Envelope(const Envelope& other) noexcept
        : Message<T>(other), core_(other.core_), node_(other.node_) {
        core_->add_ref();
        node_->add_ref();
    }
    /// Takes over `other`'s message; `other` must not be used afterwards except to destroy it.
    Envelope(Envelope&& other) noexcept
        : Message<T>(other), core_(std::exchange(other.core_, nullptr)),
          node_(std::exchange(other.node_, nullptr)) {}
    Envelope& operator=(const Envelope&) = delete;
    Envelope& operator=(Envelope&&) = delete;
    /// Lets go of the message.
    ~Envelope() {
        if (node_ != nullptr) {
            node_->release();
        }
        if (core_ != nullptr) {
            core_->release();
        }
    }

    /// The envelope as the plain message view handlers receive.
    /// **Lifetime:** the view is valid while this envelope (or a copy) lives.
    const Message<T>& message() const noexcept { return *this; }

private:
    friend class Mailbox<T>;
    /// Adopts the queue entry's node reference.
    Envelope(detail::QueuedCore& core, const detail::QueueEntry& item) noexcept
        : Message<T>{core.pattern_subscription ? MessageKind::pmessage : MessageKind::message,
                     core.pattern_text,
                     item.node->channel(),
                     *static_cast<const T*>(item.node->payload),
                     item.sequence,
                     item.node->published_at},
          core_(&core), node_(item.node) {
        core_->add_ref(); // keeps the pattern text alive; the node reference is adopted
    }

    detail::QueuedCore* core_;
    detail::MessageNode* node_;
};

/// A queued subscription without a handler. Messages wait in its bounded queue (with the
/// overflow policy it was created with) until this thread receives them.
/// **Thread-safety:** receiving from several threads at once is safe; each message goes to
/// one receiver.
/// **Lifetime:** destroying the mailbox unsubscribes and discards what is still queued
/// (counted). When the subscription ends otherwise (unsubscribe from another thread, the
/// `disconnect` policy, broker shutdown), blocked receivers wake up; after a draining broker
/// shutdown, what was queued can still be received.
template <class T>
class Mailbox {
public:
    /// An empty mailbox.
    Mailbox() = default;

    Mailbox(Mailbox&&) noexcept = default;
    Mailbox& operator=(Mailbox&&) noexcept = default;

    /// The next message if one is queued now.
    std::optional<Envelope<T>> try_receive() {
        if (core_ == nullptr) {
            return std::nullopt;
        }
        detail::QueueEntry item;
        if (!core_->pop(item)) {
            return std::nullopt;
        }
        core_->delivered.fetch_add(1, std::memory_order_relaxed);
        if (core_->in_episode.load(std::memory_order_relaxed) && core_->size() == 0) {
            core_->in_episode.store(false, std::memory_order_release);
        }
        return std::optional<Envelope<T>>(Envelope<T>(*core_, item));
    }

    /// The next message, waiting up to `timeout`; empty on timeout or when the subscription
    /// has ended and nothing is left.
    std::optional<Envelope<T>> receive_for(std::chrono::nanoseconds timeout) {
        return receive_until(std::chrono::steady_clock::now() + timeout);
    }

    /// The next message, waiting as long as it takes; empty once the subscription has ended
    /// and nothing is left.
    std::optional<Envelope<T>> receive() {
        return receive_until(std::chrono::steady_clock::time_point::max());
    }

    /// An input range over `receive()`: `for (auto& m : mailbox.listen())` runs until the
    /// subscription ends (from another thread, a disconnect or a broker shutdown).
    class Listening {
    public:
        class iterator {
        public:
            using iterator_category = std::input_iterator_tag;
            using value_type = Envelope<T>;
            using difference_type = std::ptrdiff_t;
            using pointer = const Envelope<T>*;
            using reference = const Envelope<T>&;

            iterator() = default;
            explicit iterator(Mailbox* mailbox) : mailbox_(mailbox) { ++*this; }
            reference operator*() const { return *current_; }
            pointer operator->() const { return &*current_; }
            iterator& operator++() {
                current_.reset();
                if (auto next = mailbox_->receive()) {
                    current_.emplace(std::move(*next));
                } else {
                    mailbox_ = nullptr;
                }
                return *this;
            }
            void operator++(int) { ++*this; }
            friend bool operator==(const iterator& a, const iterator& b) noexcept {
                return a.mailbox_ == b.mailbox_;
            }

        private:
            Mailbox* mailbox_ = nullptr;
            std::optional<Envelope<T>> current_;
        };

        explicit Listening(Mailbox& mailbox) : mailbox_(&mailbox) {}
        iterator begin() { return iterator(mailbox_); }
        iterator end() { return iterator(); }

    private:
        Mailbox* mailbox_;
    };

    /// See `Listening`.
    Listening listen() { return Listening(*this); }

    /// Counters: `delivered` counts received messages.
    SubscriptionStats stats() const { return subscription_.stats(); }
    /// True while subscribed.
    bool active() const noexcept { return subscription_.active(); }
    /// Ends the subscription; what is still queued is discarded and counted.
    SubscriptionStats unsubscribe() { return subscription_.unsubscribe(); }
    /// The subscription's id.
    std::uint64_t id() const noexcept { return subscription_.id(); }
    /// Messages waiting now.
    std::size_t size() const { return core_ != nullptr ? core_->size() : 0; }

private:
    friend struct detail::HandleAccess;
    Mailbox(Subscription subscription, detail::QueuedCore* core) noexcept
        : subscription_(std::move(subscription)), core_(core) {}

    std::optional<Envelope<T>> receive_until(std::chrono::steady_clock::time_point deadline) {
        for (;;) {
            if (auto m = try_receive()) {
                return m;
            }
            if (core_ == nullptr || !core_->is_active()) {
                return try_receive(); // what arrived before the end
            }
            if (std::chrono::steady_clock::now() >= deadline) {
                return std::nullopt;
            }
            core_->wait_until_ready(deadline);
        }
    }

    Subscription subscription_;
    detail::QueuedCore* core_ = nullptr;
};

HERALD_NAMESPACE_END
