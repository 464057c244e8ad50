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
/// **Thread-safety:** immutable; copies may be used and destroyed on any thread (their
/// reference counts are atomic). The payload is shared with every other receiver: read only.
/// **Lifetime:** holds a reference on the message and on its queue's state, so it stays valid
/// after the mailbox that handed it out is destroyed.
template <class T>
class Envelope : public Message<T> {
public:
    /// A copy sharing the same message (no copy of the payload).
    /// **Thread-safety:** any thread, concurrently with other copies of the same message.
    /// **Lifetime:** the copy keeps the message alive on its own.
    Envelope(const Envelope& other) noexcept
        : Message<T>(other.kind, other.pattern, other.channel, other.payload, other.sequence,
                     other.published_at),
          core_(other.core_), node_(other.node_) {
        core_->add_ref();
        node_->add_ref();
    }
    /// Takes over `other`'s message; `other` must not be used afterwards except to destroy it.
    /// **Thread-safety:** not while another thread uses `other`.
    /// **Lifetime:** the new envelope keeps the message alive in `other`'s place.
    Envelope(Envelope&& other) noexcept
        : Message<T>(other.kind, other.pattern, other.channel, other.payload, other.sequence,
                     other.published_at),
          core_(std::exchange(other.core_, nullptr)), node_(std::exchange(other.node_, nullptr)) {}
    /// Not assignable: an envelope is one received message for its whole life.
    Envelope& operator=(const Envelope&) = delete;
    /// Not assignable: an envelope is one received message for its whole life.
    Envelope& operator=(Envelope&&) = delete;
    /// Lets go of the message; the last envelope (or queue) holding it frees it.
    /// **Thread-safety:** any thread, not while another thread uses this envelope.
    /// **Lifetime:** views taken from this envelope end here unless a copy still lives.
    ~Envelope() {
        if (node_ != nullptr) {
            node_->release();
        }
        if (core_ != nullptr) {
            core_->release();
        }
    }

    /// The envelope as the plain message view handlers receive.
    /// **Thread-safety:** any thread.
    /// **Lifetime:** the view is valid while this envelope lives.
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
/// one receiver. `stats`, `active`, `id`, `size` and `unsubscribe` may be called meanwhile from
/// any thread; moving, assigning or destroying the mailbox may not.
/// **Lifetime:** destroying the mailbox unsubscribes and discards what is still queued
/// (counted). When the subscription ends otherwise (unsubscribe from another thread, the
/// `disconnect` policy, broker shutdown), blocked receivers wake up; after a draining broker
/// shutdown, what was queued can still be received.
template <class T>
class Mailbox {
public:
    /// An empty mailbox: it receives nothing and `active()` is false.
    /// **Thread-safety:** any thread.
    Mailbox() = default;

    /// Takes over `other`'s subscription; `other` is left empty (it receives nothing and
    /// `active()` is false).
    /// **Thread-safety:** not while another thread uses `other`.
    /// **Lifetime:** the subscription now lasts as long as this mailbox.
    Mailbox(Mailbox&& other) noexcept
        : subscription_(std::move(other.subscription_)),
          core_(std::exchange(other.core_, nullptr)) {}
    /// Ends this mailbox's subscription (discarding what it holds, counted), then takes over
    /// `other`'s; `other` is left empty.
    /// **Thread-safety:** not while another thread uses either mailbox.
    /// **Lifetime:** waits, as `unsubscribe` does, for the old subscription to end.
    Mailbox& operator=(Mailbox&& other) noexcept {
        if (this != &other) {
            subscription_ = std::move(other.subscription_);
            core_ = std::exchange(other.core_, nullptr);
        }
        return *this;
    }

    /// The next message if one is queued now; empty otherwise (and for an empty mailbox).
    /// Never blocks.
    /// **Thread-safety:** any thread, concurrently with other receivers on this mailbox.
    /// **Lifetime:** the envelope owns its message and may outlive this mailbox.
    std::optional<Envelope<T>> try_receive() {
        if (core_ == nullptr) {
            return std::nullopt;
        }
        core_->note_high_water(core_->size()); // the receiver is this queue's consumer
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
    /// **Thread-safety:** any thread, concurrently with other receivers on this mailbox;
    /// an `unsubscribe` or broker shutdown on another thread wakes it.
    /// **Lifetime:** the envelope owns its message and may outlive this mailbox.
    std::optional<Envelope<T>> receive_for(std::chrono::nanoseconds timeout) {
        return receive_until(std::chrono::steady_clock::now() + timeout);
    }

    /// The next message, waiting as long as it takes; empty once the subscription has ended
    /// and nothing is left.
    /// **Thread-safety:** any thread, concurrently with other receivers on this mailbox;
    /// an `unsubscribe` or broker shutdown on another thread wakes it.
    /// **Lifetime:** the envelope owns its message and may outlive this mailbox.
    std::optional<Envelope<T>> receive() {
        return receive_until(std::chrono::steady_clock::time_point::max());
    }

    /// An input range over `receive()`: `for (auto& m : mailbox.listen())` runs until the
    /// subscription ends (from another thread, a disconnect or a broker shutdown).
    /// **Thread-safety:** one range and its iterators belong to one thread; other threads may
    /// listen on the same mailbox with ranges of their own.
    /// **Lifetime:** refers to the mailbox, which must outlive it.
    class Listening {
    public:
        /// The input iterator of `Listening`: incrementing it calls `receive()`; it equals
        /// `end()` once the subscription has ended and nothing is left.
        /// **Thread-safety:** one thread at a time.
        /// **Lifetime:** refers to the mailbox; the envelope it points to lives until the next
        /// increment.
        class iterator {
        public:
            /// The standard traits of an input iterator over envelopes.
            using iterator_category = std::input_iterator_tag;
            using value_type = Envelope<T>;
            using difference_type = std::ptrdiff_t;
            using pointer = const Envelope<T>*;
            using reference = const Envelope<T>&;

            /// The end iterator.
            /// **Thread-safety:** any thread.
            iterator() = default;
            /// An iterator on `mailbox`'s first message: waits for it (`receive()`).
            /// **Thread-safety:** as `Mailbox::receive`.
            /// **Lifetime:** `mailbox` must outlive the iterator.
            explicit iterator(Mailbox* mailbox) : mailbox_(mailbox) { ++*this; }
            /// The current message; not on the end iterator.
            /// **Thread-safety:** the iterator's thread.
            /// **Lifetime:** valid until the next increment or the iterator's destruction.
            reference operator*() const { return *current_; }
            /// The current message's address; not on the end iterator.
            /// **Thread-safety:** the iterator's thread.
            /// **Lifetime:** valid until the next increment or the iterator's destruction.
            pointer operator->() const { return &*current_; }
            /// Lets go of the current message and waits for the next (`receive()`); becomes
            /// the end iterator once the subscription has ended and nothing is left.
            /// **Thread-safety:** the iterator's thread; other receivers may run meanwhile.
            /// **Lifetime:** the previous envelope is destroyed (copy it to keep it).
            iterator& operator++() {
                current_.reset();
                if (auto next = mailbox_->receive()) {
                    current_.emplace(std::move(*next));
                } else {
                    mailbox_ = nullptr;
                }
                return *this;
            }
            /// Post-increment: the same as `++it` (an input iterator keeps no old value).
            /// **Thread-safety:** the iterator's thread.
            void operator++(int) { ++*this; }
            /// True when both are the end iterator or both iterate the same mailbox.
            /// **Thread-safety:** the iterators' thread.
            friend bool operator==(const iterator& a, const iterator& b) noexcept {
                return a.mailbox_ == b.mailbox_;
            }

        private:
            Mailbox* mailbox_ = nullptr;
            std::optional<Envelope<T>> current_;
        };

        /// The range of `mailbox`'s messages.
        /// **Thread-safety:** any thread.
        /// **Lifetime:** `mailbox` must outlive the range.
        explicit Listening(Mailbox& mailbox) : mailbox_(&mailbox) {}
        /// Waits for the first message (`receive()`) and returns an iterator on it.
        /// **Thread-safety:** any thread, concurrently with other receivers on the mailbox.
        /// **Lifetime:** the iterator refers to the mailbox.
        iterator begin() { return iterator(mailbox_); }
        /// The end iterator.
        /// **Thread-safety:** any thread.
        iterator end() { return iterator(); }

    private:
        Mailbox* mailbox_;
    };

    /// A range over this mailbox's messages: `for (auto& m : mailbox.listen())` receives
    /// until the subscription ends and nothing is left.
    /// **Thread-safety:** any thread; each thread listens with its own range.
    /// **Lifetime:** the range refers to this mailbox, which must outlive it.
    Listening listen() { return Listening(*this); }

    /// The subscription's counters: `delivered` counts received messages.
    /// **Thread-safety:** any thread; takes the broker's writer lock briefly.
    SubscriptionStats stats() const { return subscription_.stats(); }
    /// True while subscribed: false after `unsubscribe`, a `disconnect` overflow, broker
    /// shutdown, and for an empty mailbox.
    /// **Thread-safety:** any thread.
    bool active() const noexcept { return subscription_.active(); }
    /// Ends the subscription and returns its final counters; what is still queued is discarded
    /// and counted. Idempotent.
    /// **Thread-safety:** any thread, also while other threads block in `receive` (they wake
    /// up and get nothing).
    /// **Lifetime:** envelopes already received stay valid.
    SubscriptionStats unsubscribe() { return subscription_.unsubscribe(); }
    /// The subscription's id, as the error hook reports it; 0 for an empty mailbox.
    /// **Thread-safety:** any thread.
    std::uint64_t id() const noexcept { return subscription_.id(); }
    /// Messages waiting now.
    /// **Thread-safety:** any thread; a snapshot that other threads may change right after.
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
