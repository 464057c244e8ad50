#pragma once
// A publication: one call to `publish`, as every delivery of it reads it. Built once on the
// publisher's stack; nothing in it is copied per subscriber.
//
// Vocabulary (docs/architecture.md): a *publication* is delivered through *routes* (the exact
// channel's subscriber list, and one list per matching pattern); a *delivery* hands it to one
// subscription, which either invokes its handler at once (inline) or enqueues a *queue entry*
// referring to the publication's *message node* (queued). A subscription that got it counts
// as a *receiver*.

#include <herald/detail/message_node.hpp>
#include <herald/detail/type_key.hpp>
#include <herald/message.hpp>
#include <herald/options.hpp>
#include <herald/version.hpp>

#include <any>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

HERALD_NAMESPACE_BEGIN
namespace detail {

struct Publication;

struct SubscriptionCore;

/// What the deliveries of one publication that did not simply succeed leave for the
/// dispatcher to settle: made by the first such delivery, null on the fast path.
struct Settlement {
    SubscriptionCore* subject = nullptr;  // the delivery being settled now
    std::exception_ptr error;             // what its handler threw (DeliveryOutcome::failed)
    std::exception_ptr first_error;       // ExceptionPolicy::rethrow_after, rethrown at the end
    std::vector<DeadLetter> dead_letters; // published once the dispatch is over
};

/// What is known about a payload type where it is published, used off the hot path: its
/// identity, how to build the shared message node, how to copy it for a dead letter.
struct PayloadType {
    const TypeKey* key;
    void (*make_node)(Publication&);
    std::any (*copy_to_any)(const void*);
};

/// One call to `publish`.
struct Publication {
    Publication(std::string_view name, const void* value, const PayloadType& payload_type,
                void* movable) noexcept
        : channel(name), payload(value), type(&payload_type), movable_payload(movable) {}
    Publication(const Publication&) = delete;
    Publication& operator=(const Publication&) = delete;
    ~Publication() {
        if (node != nullptr || settlement != nullptr) [[unlikely]] {
            release();
        }
    }

    std::string_view channel;
    const void* payload; // the node's payload once the node exists
    const PayloadType* type;
    // The same object as `payload` when the publisher passed an rvalue: the node may move
    // from it (once).
    void* movable_payload;
    // Built on first need by a queued delivery (`shared_node`).
    MessageNode* node = nullptr;
    std::chrono::system_clock::time_point published_at{};
    bool has_time = false;
    // See Settlement; owned (a plain pointer keeps the destructor's fast path inline).
    Settlement* settlement = nullptr;

    /// The delivery to `subject` did not simply succeed; `error` is what its handler threw, if
    /// it threw. Read at once by the dispatcher, which then settles the outcome.
    void report(SubscriptionCore& subject, std::exception_ptr error = nullptr) {
        if (settlement == nullptr) {
            settlement = new Settlement;
        }
        settlement->subject = &subject;
        settlement->error = std::move(error);
    }

    /// Takes the settlement over (null if every delivery simply succeeded).
    std::unique_ptr<Settlement> take_settlement() noexcept {
        return std::unique_ptr<Settlement>(std::exchange(settlement, nullptr));
    }

    [[gnu::noinline]] void release() noexcept {
        if (node != nullptr) {
            node->release(); // the publisher's reference; queues hold their own
        }
        delete settlement;
    }

    /// Reads the clock once per publication, on first need (some receiver takes Message<T>).
    void stamp_time() noexcept {
        if (!has_time) {
            published_at = std::chrono::system_clock::now();
            has_time = true;
        }
    }

    /// The publication's message node, built on first need.
    MessageNode& shared_node() {
        if (node == nullptr) {
            type->make_node(*this);
        }
        return *node;
    }
};

/// How the receivers of one route see a publication: the kind and pattern of the route and
/// the publication's sequence number on it.
struct Route {
    MessageKind kind = MessageKind::message;
    std::string_view pattern;
    std::uint64_t sequence = 0;
};

/// A publication on one route: what each delivery through the route is given. Built once per
/// route, on the dispatcher's stack.
struct Delivery {
    Publication& publication;
    Route route;
};

/// What one delivery came to.
enum class DeliveryOutcome : std::uint8_t {
    dropped,    ///< not a receiver: a full queue dropped it (counted by the queue)
    received,   ///< a receiver
    failed,     ///< a receiver whose handler threw (reported to `Publication::report`)
    disconnect, ///< not a receiver: the queue overflowed under `Overflow::disconnect`
                ///< (reported to `Publication::report`)
    filtered,   ///< not a receiver: the subscription's filter or deduplication refused it
                ///< (counted by the subscription)
};

/// A handler that threw: what the error hook and the dead-letter channel are told.
struct Failure {
    std::string_view channel;
    std::string_view pattern;
    const void* payload;      // the message's payload
    const PayloadType* type;  // null: no dead letter (the message never reached the handler)
    std::exception_ptr error; // what the handler threw
};

/// Builds the publication's node: moves the payload in when the publisher gave an rvalue,
/// copies it once otherwise, and points the publication at the node's payload so every later
/// receiver (inline or queued) shares it.
template <class T>
void make_node(Publication& p) {
    MessageNode* node = nullptr;
    if (p.movable_payload != nullptr) {
        node =
            TypedMessageNode<T>::create(p.channel, std::move(*static_cast<T*>(p.movable_payload)));
        p.movable_payload = nullptr;
    } else if constexpr (std::is_copy_constructible_v<T>) {
        node = TypedMessageNode<T>::create(p.channel, *static_cast<const T*>(p.payload));
    } else {
        // Unreachable: a move-only payload can only be published as an rvalue (the broker's
        // lvalue overloads refuse it at compile time), so it is always movable here.
        std::terminate();
    }
    // The clock is read only for receivers of the envelope (see QueuedCore::enqueue).
    if (p.has_time) {
        node->published_at = p.published_at;
    }
    p.payload = node->payload;
    p.node = node;
}

template <class T>
std::any copy_to_any(const void* payload) {
    if constexpr (std::is_copy_constructible_v<T>) {
        return std::any(*static_cast<const T*>(payload));
    } else {
        return {};
    }
}

/// The payload type record of `T`.
template <class T>
inline constexpr PayloadType payload_type_of{&type_key<T>, &make_node<T>, &copy_to_any<T>};

} // namespace detail
HERALD_NAMESPACE_END
