#pragma once
// Per-thread dispatch records and grace periods for the thread-safe broker.
//
// Publishing must not take a lock or perform a read-modify-write per subscriber, yet a
// subscriber list (or channel, or table) replaced by a writer must not be freed while a
// publisher on another thread still reads it, and `unsubscribe` must wait for an invocation
// in flight on another thread. Both needs are met by one per-thread record:
//   - `epoch`: odd while the thread is inside a dispatch (a read-side critical section),
//     carrying the global epoch it observed; retired objects are freed two epochs later.
//   - `slots[depth]`: which subscription the thread is invoking at each nesting depth (set
//     before each subscriber of a list is checked and called, or for the whole drain of a
//     queued subscription), tagged with a generation so a waiter can tell one dispatch from
//     the next. `unsubscribe` waits only for invocations of its own subscription, so a handler
//     may block on another thread that unsubscribes a neighbour on the same channel.
// The read side orders its stores before its later loads with a "light" fence and the write
// side with a "heavy" one. On Linux the heavy fence is `membarrier(PRIVATE_EXPEDITED)`, which
// lets the light fence be a compiler barrier: the hot path then costs plain stores. Elsewhere
// both are sequentially consistent fences.

#include <herald/detail/asymmetric_fence.hpp>
#include <herald/detail/platform.hpp>
#include <herald/version.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <thread>
#include <utility>
#include <vector>

HERALD_NAMESPACE_BEGIN
namespace detail {

#ifndef HERALD_MAX_DISPATCH_DEPTH
/// Hard upper bound on nested dispatch depth per thread (the broker's configurable limit must
/// not exceed it). Each level costs one 8-byte slot in the thread's record.
#define HERALD_MAX_DISPATCH_DEPTH 1024
#endif
inline constexpr std::size_t max_dispatch_depth = HERALD_MAX_DISPATCH_DEPTH;

/// One per (thread, domain). Never freed: a thread that exits returns its record for reuse, so
/// a writer scanning records never touches freed memory.
struct ThreadRecord {
    std::atomic<std::uint64_t> epoch{0}; // 0 or even: quiescent; odd: in a critical section
    std::atomic<bool> in_use{false};
    std::atomic<const ThreadRecord*> waiting_on{nullptr}; // set while blocked in unsubscribe
    ThreadRecord* next = nullptr;                         // immutable once linked
    std::atomic<std::uintptr_t> slots[max_dispatch_depth]{};
    // Owned by the thread using the record; never read by others.
    std::uint32_t depth = 0;
    std::uint16_t generation[max_dispatch_depth]{};
};

/// Encodes (subscription pointer, 16-bit generation) in one word so a waiter can see an
/// invocation end.
inline std::uintptr_t make_slot(const void* target, std::uint16_t generation) noexcept {
    return (static_cast<std::uintptr_t>(generation) << 48) |
           (reinterpret_cast<std::uintptr_t>(target) & ((std::uintptr_t{1} << 48) - 1));
}
inline bool slot_target_is(std::uintptr_t slot, const void* target) noexcept {
    return slot != 0 &&
           (slot & ((std::uintptr_t{1} << 48) - 1)) ==
               (reinterpret_cast<std::uintptr_t>(target) & ((std::uintptr_t{1} << 48) - 1));
}

/// The set of thread records and the global epoch. One per process in practice (an inline
/// variable), but brokers keep a pointer to theirs, so copies in different shared libraries
/// built with hidden visibility stay consistent.
class EpochDomain {
public:
    static EpochDomain& instance() noexcept {
        static EpochDomain domain;
        return domain;
    }

    std::atomic<std::uint64_t>& global_epoch() noexcept { return global_epoch_; }

    ThreadRecord* acquire_record() {
        // Counted before the record can be used: a writer that still reads the old count
        // ordered its own stores before this locked instruction (see alone()).
        threads_.fetch_add(1, std::memory_order_seq_cst);
        for (ThreadRecord* r = head_.load(std::memory_order_acquire); r != nullptr; r = r->next) {
            bool expected = false;
            if (!r->in_use.load(std::memory_order_relaxed) &&
                r->in_use.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) {
                return r;
            }
        }
        // Records are intentionally never deleted (see ThreadRecord); they stay reachable from
        // head_, so leak checkers do not report them.
        auto* r = new ThreadRecord;
        r->in_use.store(true, std::memory_order_relaxed);
        ThreadRecord* old = head_.load(std::memory_order_relaxed);
        do {
            r->next = old;
        } while (!head_.compare_exchange_weak(old, r, std::memory_order_release,
                                              std::memory_order_relaxed));
        return r;
    }

    void release_record(ThreadRecord* r) noexcept {
        r->epoch.store(0, std::memory_order_release);
        for (std::size_t i = 0; i < max_dispatch_depth; ++i) {
            r->generation[i] = 0;
        }
        r->depth = 0;
        r->in_use.store(false, std::memory_order_release);
        threads_.fetch_sub(1, std::memory_order_seq_cst);
    }

    /// True when the calling thread (which holds a record) is the only one that does: no
    /// other thread can be inside a dispatch, so writers need no heavy fence and no wait. A
    /// thread that starts using herald afterwards first takes a record with a locked
    /// read-modify-write, which orders the writer's earlier stores before its first dispatch.
    bool alone() const noexcept { return threads_.load(std::memory_order_seq_cst) == 1; }

    ThreadRecord* head() const noexcept { return head_.load(std::memory_order_acquire); }

    /// Tries to advance the global epoch: possible when every thread inside a critical section
    /// has observed the current one. Returns the (possibly new) global epoch.
    std::uint64_t try_advance() noexcept {
        if (!alone()) {
            AsymmetricFence::heavy();
        }
        const std::uint64_t current = global_epoch_.load(std::memory_order_seq_cst);
        for (ThreadRecord* r = head(); r != nullptr; r = r->next) {
            const std::uint64_t e = r->epoch.load(std::memory_order_acquire);
            if ((e & 1U) != 0 && (e >> 1) != current) {
                return current;
            }
        }
        std::uint64_t expected = current;
        global_epoch_.compare_exchange_strong(expected, current + 1, std::memory_order_acq_rel);
        return global_epoch_.load(std::memory_order_acquire);
    }

private:
    EpochDomain() { AsymmetricFence::initialise(); }
    std::atomic<ThreadRecord*> head_{nullptr};
    std::atomic<std::uint64_t> global_epoch_{1};
    std::atomic<std::size_t> threads_{0}; // records in use
};

/// The last (domain, record) pair this thread used: constant-initialised and trivially
/// destructible, so reading it costs one thread-local access and no initialisation guard.
struct RecordCache {
    EpochDomain* domain;
    ThreadRecord* record;
};
inline thread_local RecordCache record_cache{nullptr, nullptr};

/// Set when this thread's thread-local state was destroyed (thread exit, or static
/// destruction on the main thread). Trivially destructible, so it is still readable then.
inline thread_local bool thread_state_destroyed = false;

/// Finds or acquires this thread's record for `domain`; records go back at thread exit.
[[gnu::noinline]] inline ThreadRecord& this_thread_record_slow(EpochDomain& domain) {
    struct Owned {
        std::vector<std::pair<EpochDomain*, ThreadRecord*>> records;
        ~Owned() {
            record_cache = RecordCache{nullptr, nullptr};
            thread_state_destroyed = true;
            for (auto& [d, r] : records) {
                d->release_record(r);
            }
        }
    };
    if (thread_state_destroyed) [[unlikely]] {
        // herald used by a destructor that runs after this thread's records went back (a
        // thread_local or static Subscription, say): take a record for the rest of the
        // thread's life. It is never returned, which only costs the record.
        ThreadRecord* late = domain.acquire_record();
        record_cache = RecordCache{&domain, late};
        return *late;
    }
    thread_local Owned owned;
    ThreadRecord* record = nullptr;
    for (auto& [d, r] : owned.records) {
        if (d == &domain) {
            record = r;
        }
    }
    if (record == nullptr) {
        record = domain.acquire_record();
        owned.records.emplace_back(&domain, record);
    }
    record_cache = RecordCache{&domain, record};
    return *record;
}

/// The calling thread's record in a domain, acquired on first use and returned at thread exit.
inline ThreadRecord& this_thread_record(EpochDomain& domain) {
    const RecordCache cache = record_cache;
    if (cache.domain == &domain) [[likely]] {
        return *cache.record;
    }
    return this_thread_record_slow(domain);
}

/// Read-side critical section. Nested sections on one thread are free; only the outermost one
/// publishes the epoch.
class CriticalSection {
public:
    CriticalSection(EpochDomain& domain, ThreadRecord& record) noexcept : record_(record) {
        if (record_.depth++ == 0) {
            const std::uint64_t e = domain.global_epoch().load(std::memory_order_relaxed);
            // Release so that a reclaimer which acquires this value also sees every read this
            // thread made in earlier sections (a plain store would not extend that ordering).
            record_.epoch.store((e << 1) | 1U, std::memory_order_release);
            AsymmetricFence::light();
        }
    }
    CriticalSection(const CriticalSection&) = delete;
    CriticalSection& operator=(const CriticalSection&) = delete;
    ~CriticalSection() {
        if (--record_.depth == 0) {
            record_.epoch.store(0, std::memory_order_release);
        }
    }

private:
    ThreadRecord& record_;
};

/// Marks, at one nesting level of this thread, which subscription it is invoking (or, for a
/// queued subscription's consumer, draining). One dispatch over a subscriber list is one
/// generation of the level; `enter` is called before each subscription's active flag is
/// checked, so a waiter that deactivated the subscription either sees the mark or the
/// dispatcher sees the deactivation (the asymmetric fence pairs the two).
class DispatchSlot {
public:
    /// Opens the level; nothing is marked until `enter`.
    explicit DispatchSlot(ThreadRecord& record) noexcept
        : slot_(record.slots[record.depth - 1]), generation_(++record.generation[record.depth - 1]),
          expedited_(AsymmetricFence::expedited()) {}
    /// Opens the level and marks `target` at once.
    DispatchSlot(ThreadRecord& record, const void* target) noexcept : DispatchSlot(record) {
        enter(target);
    }
    DispatchSlot(const DispatchSlot&) = delete;
    DispatchSlot& operator=(const DispatchSlot&) = delete;
    ~DispatchSlot() { slot_.store(0, std::memory_order_release); }

    /// Same, for a dispatch that has the record as a pointer (never null here).
    explicit DispatchSlot(ThreadRecord* record) noexcept : DispatchSlot(*record) {}
    /// Marks `target` as the subscription this level is about to invoke. Must precede the
    /// check of its active flag.
    HERALD_ALWAYS_INLINE void enter(const void* target) noexcept {
        // Release: a waiter that sees the mark move on also sees the previous invocation end.
        slot_.store(make_slot(target, generation_), std::memory_order_release);
        // AsymmetricFence::light(), with the membarrier check read once per dispatch.
        if (expedited_) {
            std::atomic_signal_fence(std::memory_order_seq_cst);
        } else {
            full_fence();
        }
    }

private:
    std::atomic<std::uintptr_t>& slot_;
    std::uint16_t generation_;
    bool expedited_;
};

/// Waits until no other thread is invoking `target` in an invocation that began before the
/// caller's preceding store (the caller has already deactivated `target`). Invocations of other
/// subscriptions, even of the same channel, are not waited for. Never waits for the calling
/// thread itself. If two threads would wait for each other (each
/// unsubscribing, from inside a handler, a subscription the other is running), the one with
/// the higher record address stops waiting, so the pair cannot deadlock.
inline void wait_for_invocations(EpochDomain& domain, const void* target) {
    ThreadRecord& self = this_thread_record(domain);
    if (domain.alone()) {
        return; // nobody else can be running it
    }
    AsymmetricFence::heavy();
    for (ThreadRecord* r = domain.head(); r != nullptr; r = r->next) {
        if (r == &self || (r->epoch.load(std::memory_order_acquire) & 1U) == 0) {
            continue;
        }
        for (std::size_t level = 0; level < max_dispatch_depth; ++level) {
            const std::uintptr_t seen = r->slots[level].load(std::memory_order_acquire);
            if (seen == 0) {
                // A deeper level is only ever set inside a handler called from a set shallower
                // one, so the first empty level ends this thread's stack; a dispatch starting
                // after the heavy fence sees the caller's deactivation and needs no wait.
                break;
            }
            if (!slot_target_is(seen, target)) {
                continue;
            }
            self.waiting_on.store(r, std::memory_order_seq_cst);
            unsigned spins = 0;
            while (r->slots[level].load(std::memory_order_acquire) == seen) {
                if (self.depth > 0 && r->waiting_on.load(std::memory_order_seq_cst) == &self &&
                    std::less<const ThreadRecord*>{}(r, &self)) {
                    break; // mutual wait between two handlers: the higher address yields
                }
                if (++spins < 64) {
                    std::this_thread::yield();
                } else {
                    std::this_thread::sleep_for(std::chrono::microseconds(50));
                }
            }
            self.waiting_on.store(nullptr, std::memory_order_seq_cst);
        }
    }
}

/// Waits until every other thread that is inside a critical section now has left it (a grace
/// period). Used when a broker shuts down.
inline void wait_for_grace_period(EpochDomain& domain) {
    ThreadRecord& self = this_thread_record(domain);
    AsymmetricFence::heavy();
    for (ThreadRecord* r = domain.head(); r != nullptr; r = r->next) {
        if (r == &self) {
            continue;
        }
        const std::uint64_t seen = r->epoch.load(std::memory_order_acquire);
        if ((seen & 1U) == 0) {
            continue;
        }
        while (r->epoch.load(std::memory_order_acquire) == seen) {
            std::this_thread::yield();
        }
    }
}

} // namespace detail
HERALD_NAMESPACE_END
