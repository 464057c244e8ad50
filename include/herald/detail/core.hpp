#pragma once
// The pieces shared by every broker instantiation: a subscription's state, an immutable
// subscriber list, and what one delivery carries.

#include <herald/detail/type_key.hpp>
#include <herald/errors.hpp>
#include <herald/message.hpp>
#include <herald/stats.hpp>

#include <any>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <new>
#include <string_view>
#include <utility>

HERALD_NAMESPACE_BEGIN
namespace detail {

class BrokerImplBase;
struct SubscriptionCore;
struct QueueNode;
struct Delivery;

#if defined(__GNUC__) || defined(__clang__)
#define HERALD_ALWAYS_INLINE [[gnu::always_inline]] inline
#elif defined(_MSC_VER)
#define HERALD_ALWAYS_INLINE __forceinline
#else
#define HERALD_ALWAYS_INLINE inline
#endif

/// An acquire fence. GCC's "-Wtsan" note that ThreadSanitizer ignores fences is silenced here:
/// what the fence orders is also accessed through atomics, which TSan does check.
inline void acquire_fence() noexcept {
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#if __GNUC__ >= 12
#pragma GCC diagnostic ignored "-Wtsan"
#endif
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
#pragma GCC diagnostic pop
#else
    std::atomic_thread_fence(std::memory_order_acquire);
#endif
}

/// What is known about a payload type at the publish site, used off the hot path: its
/// identity, how to build a queue node from it, how to copy it for a dead letter.
struct PayloadOps {
    const TypeKey* type;
    QueueNode* (*make_node)(Delivery&);
    std::any (*as_any)(const void*);
};

/// Everything a subscription needs to receive one message. Built once per publish on the
/// publisher's stack; nothing in it is copied per subscriber.
struct Delivery {
    MessageKind kind = MessageKind::message;
    std::string_view pattern;
    std::string_view channel;
    const void* payload = nullptr;
    const PayloadOps* ops = nullptr;
    std::uint64_t sequence = 0;
    std::chrono::system_clock::time_point published_at{};
    bool has_time = false;
    BrokerImplBase* broker = nullptr;
    std::exception_ptr first_error; // for ExceptionPolicy::rethrow_after
    // Queued delivery: the publish's shared node, built on first need by `ops->make_node`,
    // which moves from `movable_payload` when the publisher passed an rvalue.
    QueueNode* node = nullptr;
    void* movable_payload = nullptr;

    void stamp_time() noexcept {
        if (!has_time) {
            published_at = std::chrono::system_clock::now();
            has_time = true;
        }
    }
};

enum class SubscriptionState : std::uint8_t {
    active,       ///< receiving
    cancelled,    ///< unsubscribed by its handle (or group)
    disconnected, ///< cancelled by the `disconnect` overflow policy
    orphaned,     ///< its broker shut down
};

/// What a queued subscription adds, reached through `SubscriptionCore::queue`.
struct QueueHooks {
    void (*stats)(const SubscriptionCore&, SubscriptionStats&);
    std::size_t (*pump)(SubscriptionCore&, std::size_t max, std::chrono::nanoseconds wait);
    void (*cancelled)(SubscriptionCore&, bool discard);
};

/// What a concrete subscription type supplies: one static table per type, so each
/// subscription pays one pointer for all of it.
struct CoreOps {
    bool (*deliver)(SubscriptionCore&, Delivery&);
    void (*drop_handler)(SubscriptionCore*) noexcept;
    void (*destroy)(SubscriptionCore*) noexcept;
    const TypeKey* type;
    const QueueHooks* queue; // null for inline delivery
};

/// A subscription's link to its broker: one per broker, shared by its subscriptions, so a
/// subscription holds a single pointer. `lock` keeps the broker alive for one call from a
/// handle; after the broker is gone it yields null.
struct BrokerLink {
    explicit BrokerLink(std::weak_ptr<BrokerImplBase> b) noexcept : broker(std::move(b)) {}
    std::weak_ptr<BrokerImplBase> broker;
    std::atomic<std::size_t> refs{1}; // the broker's own, plus one per linked subscription

    void add_ref() noexcept { refs.fetch_add(1, std::memory_order_relaxed); }
    void release() noexcept {
        if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            delete this;
        }
    }
};

/// A counted pointer to a BrokerLink, with the interface of the `std::weak_ptr` it replaces.
class BrokerRef {
public:
    BrokerRef() noexcept = default;
    BrokerRef(const BrokerRef&) = delete;
    BrokerRef& operator=(const BrokerRef&) = delete;
    ~BrokerRef() { reset(); }

    /// Links to `link` (taking a reference).
    BrokerRef& operator=(BrokerLink* link) noexcept {
        if (link != nullptr) {
            link->add_ref();
        }
        reset();
        link_ = link;
        return *this;
    }
    std::shared_ptr<BrokerImplBase> lock() const noexcept {
        return link_ != nullptr ? link_->broker.lock() : nullptr;
    }
    void reset() noexcept {
        if (BrokerLink* l = std::exchange(link_, nullptr)) {
            l->release();
        }
    }

private:
    BrokerLink* link_ = nullptr;
};

/// One subscription. Reference counted: one reference for the handle, one while the broker
/// lists it. Type-erased through a static table of operations set by the concrete type.
/// Kept small (64 bytes): a channel with a million subscribers holds a million of these.
struct SubscriptionCore {
    using DeliverFn = bool (*)(SubscriptionCore&, Delivery&);
    using DestroyFn = void (*)(SubscriptionCore*) noexcept;

    SubscriptionCore(const CoreOps& core_ops, bool envelope) noexcept
        : wants_envelope(envelope), ops(&core_ops) {}
    SubscriptionCore(const SubscriptionCore&) = delete;
    SubscriptionCore& operator=(const SubscriptionCore&) = delete;

    bool is_active() const noexcept {
        return state.load(std::memory_order_relaxed) == SubscriptionState::active;
    }
    const TypeKey& payload_type() const noexcept { return *ops->type; }
    const QueueHooks* queue() const noexcept { return ops->queue; }
    bool deliver(Delivery& d) { return ops->deliver(*this, d); }

    void add_ref() noexcept { refs.fetch_add(1, std::memory_order_relaxed); }

    /// Adds to `offered_closed`. Broker lock held: no read-modify-write is needed.
    void add_offered(std::uint64_t n) noexcept {
        offered_closed.store(offered_closed.load(std::memory_order_relaxed) + n,
                             std::memory_order_relaxed);
    }
    void release() noexcept {
        if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            ops->destroy(this);
        }
    }

    /// The broker lets go: no dispatch can reach this subscription any more, so its handler
    /// (and whatever it captured) is destroyed now, even if the handle lives on.
    static void release_from_broker(void* p) noexcept {
        auto* core = static_cast<SubscriptionCore*>(p);
        core->ops->drop_handler(core);
        core->release();
    }

    // Hot fields first: the dispatch loop reads state and ops.
    std::atomic<SubscriptionState> state{SubscriptionState::active};
    bool wants_envelope;
    bool pattern_subscription = false;
    bool handler_alive = true; // for concrete types that keep their handler in place
    std::atomic<std::uint32_t> refs{1};
    const CoreOps* ops;

    // Identity and ownership. `owner` is the channel or pattern entry whose lists hold this
    // subscription; written under the broker's lock before the subscription is visible.
    const void* owner = nullptr;
    std::uint64_t id = 0;
    BrokerRef broker;

    // Counters. `offered_closed` sums the messages of every replaced list that held this
    // subscription; the current list's share is added when stats are read. Written under the
    // broker's lock (add_offered), but atomic: a handle whose broker is gone reads it without
    // that lock (Subscription::final_stats).
    std::atomic<std::uint64_t> offered_closed{0};
    std::atomic<std::uint64_t> skipped{0};
    std::atomic<std::uint64_t> errors{0};
};

/// An immutable array of subscriptions plus the counter of messages dispatched over it.
/// Replaced copy-on-write; a replaced list is closed (its counter gets `closed_bit`) so its
/// final count is exact and the next list continues the sequence.
///
/// The counter is biased (thread-safe brokers on Linux): the first thread that publishes over
/// a list owns its counter and advances it with a plain load and store instead of a locked
/// read-modify-write. Any other thread (a second publisher, or a writer about to close the
/// list) first revokes the bias: it marks the list shared, then waits, with the same
/// asymmetric-fence handshake as `unsubscribe`, until the owner is not inside its count. From
/// then on every thread counts with `fetch_add`. A single publisher thread per channel, the
/// common case, thus never executes a locked instruction per publish.
struct SubscriberList {
    static constexpr std::uint64_t closed_bit = std::uint64_t{1} << 63;

    std::atomic<std::uint64_t> counter;
    std::uint64_t base; // counter value when this list became current
    /// The thread record owning the counter, null (unclaimed) or `shared_bias()`.
    std::atomic<const void*> bias{nullptr};
    std::uint32_t size;
    bool wants_envelope; // some member takes Message<T>: stamp the publish time

    /// The bias value of a list every thread counts on with `fetch_add`.
    static const void* shared_bias() noexcept {
        static const char marker = 0;
        return &marker;
    }

    SubscriptionCore** items() noexcept {
        return reinterpret_cast<SubscriptionCore**>(reinterpret_cast<char*>(this) + header);
    }
    SubscriptionCore* const* items() const noexcept {
        return reinterpret_cast<SubscriptionCore* const*>(reinterpret_cast<const char*>(this) +
                                                          header);
    }
    static constexpr std::size_t header =
        (8 + 8 + 8 + 4 + 1 + 7) / alignof(SubscriptionCore*) * alignof(SubscriptionCore*);

    static SubscriberList* create(std::uint32_t n, std::uint64_t start) {
        void* memory = ::operator new (header + std::size_t{n} * sizeof(SubscriptionCore*));
        auto* list = ::new (memory) SubscriberList{{start}, start, {nullptr}, n, false};
        return list;
    }
    static void destroy(void* p) noexcept {
        auto* list = static_cast<SubscriberList*>(p);
        list->~SubscriberList();
        ::operator delete(p);
    }
    static std::size_t bytes(std::uint32_t n) noexcept {
        return header + std::size_t{n} * sizeof(SubscriptionCore*);
    }
};
static_assert(sizeof(SubscriberList) <= SubscriberList::header);

/// What a Subscription handle may ask of its broker, independent of the broker's template
/// arguments.
class BrokerImplBase {
public:
    virtual ~BrokerImplBase() = default;
    /// Cancels `core` (if still active) and waits for in-flight invocations on other threads.
    virtual void unsubscribe(SubscriptionCore& core) = 0;
    /// The subscription's counters.
    virtual SubscriptionStats stats(const SubscriptionCore& core) const = 0;
    /// A handler threw while handling `delivery`.
    virtual void handler_failed(SubscriptionCore& core, Delivery& delivery) = 0;
    /// A queued subscription overflowed under `Overflow::disconnect`.
    virtual void disconnect(SubscriptionCore& core, std::string_view channel) = 0;
    /// A queued subscription's consumer took a message off the queue just as the subscription
    /// ended, and drops it: counted as discarded, in the broker's total as well.
    virtual void discarded_after_end(SubscriptionCore& core) = 0;
    /// Brackets a queued handler run outside `publish` (single-threaded brokers defer
    /// reclamation until it returns).
    virtual void begin_callback() noexcept {}
    virtual void end_callback() noexcept {}
};

} // namespace detail
HERALD_NAMESPACE_END
