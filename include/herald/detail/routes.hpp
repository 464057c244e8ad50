#pragma once
// The routing nodes the registry keeps and the dispatcher reads: a channel (an exact name) and
// a pattern entry (a distinct pattern). Each holds the subscriber list a publication is
// delivered through. Per-channel state of a feature lives in `Channel`, written by the
// registry under its lock and read by the dispatcher after the list.

#include <herald/detail/channel_hash.hpp>
#include <herald/detail/subscriber_list.hpp>
#include <herald/detail/type_key.hpp>
#include <herald/pattern.hpp>
#include <herald/version.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

HERALD_NAMESPACE_BEGIN
namespace detail {

/// A channel with at least one exact subscriber or one pinned publisher (or a spare one, kept
/// for reuse).
struct Channel {
    Channel(std::string_view n, std::size_t h, const TypeKey& t) : name(n), hash_(h), type(&t) {}
    const TypeKey& bound_type() const noexcept { return *type.load(std::memory_order_acquire); }
    std::string_view key() const noexcept { return name; }
    std::size_t hash() const noexcept { return hash_; }
    static void destroy(void* p) noexcept { delete static_cast<Channel*>(p); }

    std::string name;
    std::size_t hash_;
    // The payload type, rebound only while the channel is unused (no list, no pins); a new
    // binding is stored before the list that makes it visible (see Dispatcher::deliver_list).
    std::atomic<const TypeKey*> type;
    std::atomic<SubscriberList*> list{nullptr};
    std::uint32_t pins = 0; // publishers holding this channel (writer lock)
    bool spare = false;     // unused, kept for reuse in Registry::spare_ (writer lock)
};

/// A distinct pattern with at least one subscriber. Stored in the registry's PatternIndex
/// itself, so that a match reaches it with no further pointer to follow; taken out with
/// PatternIndex::extract and destroyed through the same reclamation as lists.
struct PatternEntry {
    explicit PatternEntry(const Pattern& p) : pattern(p) {}

    Pattern pattern;
    std::atomic<SubscriberList*> list{nullptr};
    std::size_t position = 0; // in Registry::pattern_entries_ (writer lock)
};

} // namespace detail
HERALD_NAMESPACE_END
