#pragma once
// An immutable array of subscriptions: what a channel or a pattern entry delivers through.

#include <herald/detail/subscription_core.hpp>
#include <herald/version.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>

HERALD_NAMESPACE_BEGIN
namespace detail {

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

} // namespace detail
HERALD_NAMESPACE_END
