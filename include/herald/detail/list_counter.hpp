#pragma once
// The publish counter of a subscriber list: one count per publication delivered through the
// list, which yields the per-list sequence number and, when the list is replaced, every
// member's exact `delivered` count without an atomic per delivery.
//
// On thread_safe brokers the counter is biased (see SubscriberList): the first thread that
// publishes over a list owns it and counts with a plain load and store inside its dispatch
// mark; any other thread first revokes the bias and waits out the owner's count, with the same
// handshake as `unsubscribe`. A single publisher thread per channel, the common case, thus
// never executes a locked instruction per publish. Closing a list (a writer replacing it)
// revokes the bias too, then sets `closed_bit`, so the final count is exact.

#include <herald/detail/asymmetric_fence.hpp>
#include <herald/detail/epoch.hpp>
#include <herald/detail/platform.hpp>
#include <herald/detail/subscriber_list.hpp>
#include <herald/version.hpp>

#include <atomic>
#include <cstdint>

HERALD_NAMESPACE_BEGIN
namespace detail {

/// Counts on a counter no other thread writes (single_threaded) or every thread may write.
template <bool Concurrent>
HERALD_ALWAYS_INLINE std::uint64_t bump(std::atomic<std::uint64_t>& counter) noexcept {
    if constexpr (Concurrent) {
        return counter.fetch_add(1, std::memory_order_relaxed);
    } else {
        const std::uint64_t v = counter.load(std::memory_order_relaxed);
        counter.store(v + 1, std::memory_order_relaxed);
        return v;
    }
}

/// The owner's count: plain, since only the owner counts while the bias holds.
HERALD_ALWAYS_INLINE std::uint64_t count_as_owner(SubscriberList& list) noexcept {
    const std::uint64_t v = list.counter.load(std::memory_order_relaxed);
    if ((v & SubscriberList::closed_bit) == 0) [[likely]] {
        list.counter.store(v + 1, std::memory_order_relaxed);
    }
    return v;
}

/// Makes `list` shared and waits until its previous owner (if another thread) is past any
/// plain count it started. Returns the previous bias.
inline const void* revoke_bias(EpochDomain& domain, ThreadRecord& me, SubscriberList& list) {
    const void* owner =
        list.bias.exchange(SubscriberList::shared_bias(), std::memory_order_acq_rel);
    if (owner != nullptr && owner != SubscriberList::shared_bias() && owner != &me) {
        wait_for_invocations(domain, &list);
    }
    return owner;
}

/// The count of a thread that does not own the list: claims an unclaimed list, else revokes
/// the bias and counts with `fetch_add`.
[[gnu::noinline]] inline std::uint64_t count_shared(EpochDomain& domain, ThreadRecord& me,
                                                    SubscriberList& list, const void* bias) {
    // Claiming needs the asymmetric fence: without membarrier the owner's mark would need a
    // full fence per publish, which costs what the locked increment does.
    if (bias == nullptr && AsymmetricFence::expedited() &&
        list.bias.compare_exchange_strong(bias, &me, std::memory_order_acq_rel,
                                          std::memory_order_relaxed)) {
        return count_as_owner(list);
    }
    if (bias != SubscriberList::shared_bias()) {
        revoke_bias(domain, me, list);
    }
    return list.counter.fetch_add(1, std::memory_order_relaxed);
}

/// Counts one publication over `list` (thread_safe). Returns the position before the count;
/// with `closed_bit` set the list was closed and nothing was counted.
HERALD_ALWAYS_INLINE std::uint64_t count_publish(EpochDomain& domain, ThreadRecord& me,
                                                 DispatchSlot& slot, SubscriberList& list) {
    // The mark brackets the owner's plain count: a revoker waits until it moves on.
    slot.enter(&list);
    const void* bias = list.bias.load(std::memory_order_relaxed);
    if (bias == &me) [[likely]] {
        return count_as_owner(list);
    }
    return count_shared(domain, me, list, bias);
}

/// Closes `old` (writer lock held) so its count is final; `fresh`, when not null, continues
/// its sequence and inherits its bias, so a channel with one publisher thread stays lock-free
/// across subscriber churn. Returns the number of publications counted on `old`.
template <bool Concurrent>
std::uint64_t close_list(EpochDomain& domain, SubscriberList& old, SubscriberList* fresh) {
    std::uint64_t position = 0;
    if constexpr (Concurrent) {
        // The owner of a biased counter must be past its count before the close, or its
        // plain store could erase `closed_bit`.
        const void* owner = revoke_bias(domain, this_thread_record(domain), old);
        if (fresh != nullptr) {
            fresh->bias.store(owner, std::memory_order_relaxed);
        }
        position = old.counter.fetch_or(SubscriberList::closed_bit, std::memory_order_acq_rel);
    } else {
        (void)domain;
        position = old.counter.load(std::memory_order_relaxed);
        old.counter.store(position | SubscriberList::closed_bit, std::memory_order_relaxed);
    }
    if (fresh != nullptr) {
        fresh->counter.store(position, std::memory_order_relaxed);
        fresh->base = position;
    }
    return position - old.base;
}

/// Publications counted on a list that is still current.
inline std::uint64_t live_count(const SubscriberList& list) noexcept {
    return (list.counter.load(std::memory_order_relaxed) & ~SubscriberList::closed_bit) - list.base;
}

} // namespace detail
HERALD_NAMESPACE_END
