#pragma once
/// \file
/// Counters for one subscription and for a whole broker.

#include <herald/version.hpp>

#include <cstddef>
#include <cstdint>

HERALD_NAMESPACE_BEGIN

/// Why queued messages were dropped, one counter per cause.
/// **Thread-safety:** a plain value, a snapshot taken by `stats()`.
struct DropCounts {
    std::uint64_t newest = 0;       ///< `drop_newest`: the new message was refused
    std::uint64_t oldest = 0;       ///< `drop_oldest`: a queued message made room
    std::uint64_t conflated = 0;    ///< `conflate`: replaced by a newer one of its channel
    std::uint64_t timed_out = 0;    ///< `block`: no room before the timeout
    std::uint64_t disconnected = 0; ///< `disconnect`: the overflowing message and the queue
    std::uint64_t discarded = 0;    ///< still queued at unsubscribe or a discarding shutdown

    /// All causes together.
    /// **Thread-safety:** reads only this value.
    std::uint64_t total() const noexcept {
        return newest + oldest + conflated + timed_out + disconnected + discarded;
    }
};

/// A subscription's counters, read with `Subscription::stats()`.
/// Every message offered to the subscription ends in exactly one of: delivered, errors,
/// dropped, skipped, filtered, duplicates, or is still queued.
/// **Thread-safety:** a plain value, a snapshot: each counter is read on its own (relaxed), so
/// while messages flow the counters may not add up to the same instant.
struct SubscriptionStats {
    std::uint64_t delivered = 0;  ///< handler invocations that returned normally
    std::uint64_t errors = 0;     ///< handler invocations (or conditions) that threw
    std::uint64_t dropped = 0;    ///< messages dropped (all causes; see `drops`)
    std::uint64_t skipped = 0;    ///< messages not handed over because the subscription was
                                  ///< being cancelled, or (patterns) of another payload type
    std::uint64_t queued = 0;     ///< messages waiting in the queue now
    std::uint64_t high_water = 0; ///< largest queue length seen
    std::uint64_t filtered = 0;   ///< refused by the subscription's `herald::filter`
    std::uint64_t duplicates = 0; ///< refused by its `herald::dedup` (key seen in the window)
    DropCounts drops{};           ///< `dropped`, by cause
    bool active = false;          ///< still subscribed
};

/// Broker-wide totals, read with `Broker::stats()`. Cheap enough for a health check: the
/// counts are kept up to date by writers, and the message totals sum one counter per
/// subscriber list (publish itself keeps no broker-wide counter, which would cost an atomic
/// read-modify-write on a shared cache line per publish).
/// **Thread-safety:** a plain value, a snapshot taken under the writer lock; message totals of
/// publishes running meanwhile may or may not be in it.
struct BrokerStats {
    std::size_t channels = 0;      ///< channels with at least one exact subscriber
    std::size_t patterns = 0;      ///< distinct patterns with at least one subscriber
    std::size_t subscriptions = 0; ///< live subscriptions (exact and pattern)
    std::uint64_t dispatched = 0; ///< messages dispatched to a subscriber list (channel or pattern)
    std::uint64_t errors = 0;     ///< handler exceptions caught
    std::uint64_t dropped = 0;    ///< messages dropped by bounded queues
    std::uint64_t depth_exceeded = 0;  ///< publishes refused because dispatch nesting was too deep
    std::uint64_t type_mismatches = 0; ///< pattern matches skipped because payload types differ
};

HERALD_NAMESPACE_END
