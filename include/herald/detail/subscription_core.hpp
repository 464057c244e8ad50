#pragma once
// One subscription's state, whatever its kind, and the one interface through which a handle or
// a queue consumer reaches the subscription's broker.
//
// A subscription kind (inline_subscription.hpp, queued_subscription.hpp) supplies one static
// table of operations; the dispatcher calls `deliver` through it, passing the publication and
// route down. Nothing on the publish path calls back up into the broker: outcomes are returned.
// Only handles (unsubscribe, stats) and queue consumers (which run outside any publish) call
// up, through `SubscriptionHost`.

#include <herald/detail/publication.hpp>
#include <herald/detail/type_key.hpp>
#include <herald/stats.hpp>
#include <herald/version.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

HERALD_NAMESPACE_BEGIN
namespace detail {

struct SubscriptionCore;
struct QueuedCore;

enum class SubscriptionState : std::uint8_t {
    active,       ///< receiving
    cancelled,    ///< unsubscribed by its handle (or group)
    disconnected, ///< cancelled by the `disconnect` overflow policy
    orphaned,     ///< its broker shut down
};

/// A process-wide unique subscription id. Threads take ids in blocks, so subscribing costs no
/// read-modify-write on a shared counter.
inline std::uint64_t next_subscription_id() noexcept {
    static std::atomic<std::uint64_t> next_block{1};
    constexpr std::uint64_t block = 1024;
    thread_local std::uint64_t next = 0;
    thread_local std::uint64_t end = 0;
    if (next == end) {
        next = next_block.fetch_add(block, std::memory_order_relaxed);
        end = next + block;
    }
    return next++;
}

/// What a gated subscription (a filter or deduplication) refused so far.
struct GateCounters {
    std::uint64_t filtered = 0;
    std::uint64_t duplicates = 0;
};

/// What a subscription kind supplies: one static table per kind and payload type, so each
/// subscription pays one pointer for all of it.
struct SubscriptionOps {
    /// Delivers a publication through a route: invokes the handler, or enqueues.
    DeliveryOutcome (*deliver)(SubscriptionCore&, const Delivery&);
    /// Destroys the handler (once): when the broker lets go, or with the subscription.
    void (*destroy_handler)(SubscriptionCore&) noexcept;
    /// Frees the subscription (its last reference went).
    void (*destroy)(SubscriptionCore*) noexcept;
    /// The payload type the subscription takes.
    const TypeKey* type;
    /// Queued kinds: invokes the handler on one queue entry (false: it threw). Null for inline
    /// subscriptions and for mailboxes, which have no handler.
    bool (*invoke)(QueuedCore&, const QueueEntry&);
    /// The subscription is a QueuedCore.
    bool queued;
    /// Gated kinds (gated_subscription.hpp): what the gate refused. Null for the others.
    GateCounters (*gate)(const SubscriptionCore&) noexcept;
};

/// What a handle or a queue consumer may ask of the subscription's broker, independent of the
/// broker's template arguments. Never used on the publish path.
class SubscriptionHost {
public:
    virtual ~SubscriptionHost() = default;
    /// Cancels `core` (if still active) and waits for its invocations on other threads.
    virtual void unsubscribe(SubscriptionCore& core) = 0;
    /// The subscription's counters.
    virtual SubscriptionStats stats(const SubscriptionCore& core) const = 0;
    /// A queued handler threw, on its consumer's thread.
    virtual void queued_handler_failed(SubscriptionCore& core, const Failure& failure) = 0;
    /// A consumer took a message off the queue just as the subscription ended, and drops it:
    /// counted as discarded, in the broker's total as well.
    virtual void discarded_after_end(SubscriptionCore& core) = 0;
    /// Brackets a queued handler run outside `publish` (single_threaded brokers defer
    /// reclamation until it returns).
    virtual void enter_handler() noexcept {}
    virtual void leave_handler() noexcept {}
};

/// A subscription's link to its broker: one per broker, shared by its subscriptions, so a
/// subscription holds a single pointer. `lock` keeps the broker alive for one call from a
/// handle; after the broker is gone it yields null.
struct HostLink {
    explicit HostLink(std::weak_ptr<SubscriptionHost> h) noexcept : host(std::move(h)) {}
    std::weak_ptr<SubscriptionHost> host;
    std::atomic<std::size_t> refs{1}; // the broker's own, plus one per linked subscription

    void add_ref() noexcept { refs.fetch_add(1, std::memory_order_relaxed); }
    void release() noexcept {
        if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            delete this;
        }
    }
};

/// A counted pointer to a HostLink, with the interface of the `std::weak_ptr` it replaces.
class HostRef {
public:
    HostRef() noexcept = default;
    HostRef(const HostRef&) = delete;
    HostRef& operator=(const HostRef&) = delete;
    ~HostRef() { reset(); }

    /// Links to `link` (taking a reference).
    HostRef& operator=(HostLink* link) noexcept {
        if (link != nullptr) {
            link->add_ref();
        }
        reset();
        link_ = link;
        return *this;
    }
    std::shared_ptr<SubscriptionHost> lock() const noexcept {
        return link_ != nullptr ? link_->host.lock() : nullptr;
    }
    void reset() noexcept {
        if (HostLink* l = std::exchange(link_, nullptr)) {
            l->release();
        }
    }

private:
    HostLink* link_ = nullptr;
};

/// One subscription. Reference counted: one reference for the handle, one while the broker
/// lists it. Kept small (64 bytes): a channel with a million subscribers holds a million.
struct SubscriptionCore {
    SubscriptionCore(const SubscriptionOps& subscription_ops, bool envelope) noexcept
        : wants_envelope(envelope), ops(&subscription_ops) {}
    SubscriptionCore(const SubscriptionCore&) = delete;
    SubscriptionCore& operator=(const SubscriptionCore&) = delete;

    bool is_active() const noexcept {
        return state.load(std::memory_order_relaxed) == SubscriptionState::active;
    }
    const TypeKey& payload_type() const noexcept { return *ops->type; }
    /// A queued kind: the subscription is a QueuedCore (see `queued_part`).
    bool is_queued() const noexcept { return ops->queued; }

    void add_ref() noexcept { refs.fetch_add(1, std::memory_order_relaxed); }
    void release() noexcept {
        if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            ops->destroy(this);
        }
    }

    /// Adds to `offered_closed`. Writer lock held: no read-modify-write is needed.
    void add_offered(std::uint64_t n) noexcept {
        offered_closed.store(offered_closed.load(std::memory_order_relaxed) + n,
                             std::memory_order_relaxed);
    }

    /// The broker lets go: no dispatch can reach this subscription any more, so its handler
    /// (and whatever it captured) is destroyed now, even if the handle lives on.
    static void release_from_broker(void* p) noexcept {
        auto* core = static_cast<SubscriptionCore*>(p);
        core->ops->destroy_handler(*core);
        core->release();
    }

    // Hot fields first: the dispatch loop reads state and ops.
    std::atomic<SubscriptionState> state{SubscriptionState::active};
    bool wants_envelope;
    bool pattern_subscription = false;
    bool handler_alive = true; // for kinds that keep their handler in place
    std::atomic<std::uint32_t> refs{1};
    const SubscriptionOps* ops;

    // Identity and ownership. `owner` is the channel or pattern entry whose lists hold this
    // subscription; written under the writer lock before the subscription is visible.
    const void* owner = nullptr;
    std::uint64_t id = 0;
    HostRef host;

    // Counters. `offered_closed` sums the messages of every replaced list that held this
    // subscription; the current list's share is added when stats are read. Written under the
    // writer lock (add_offered), but atomic: a handle whose broker is gone reads it without
    // that lock (Subscription::final_stats).
    std::atomic<std::uint64_t> offered_closed{0};
    std::atomic<std::uint64_t> skipped{0};
    std::atomic<std::uint64_t> errors{0};
};

/// Adds what a gated subscription's gate refused to `s` (nothing for the other kinds).
inline void fill_gate_stats(const SubscriptionCore& core, SubscriptionStats& s) noexcept {
    if (core.ops->gate != nullptr) {
        const GateCounters refused = core.ops->gate(core);
        s.filtered = refused.filtered;
        s.duplicates = refused.duplicates;
    }
}

} // namespace detail
HERALD_NAMESPACE_END
