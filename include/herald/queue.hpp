#pragma once
/// \file
/// Queued delivery: a bounded per-subscriber queue, its overflow policies and the
/// slow-consumer callback. Where the handler runs is `Executor`'s (executor.hpp).

#include <herald/executor.hpp>
#include <herald/version.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string_view>

HERALD_NAMESPACE_BEGIN

/// What a full queue does with one more message.
enum class Overflow : std::uint8_t {
    drop_newest, ///< the new message is dropped (counted)
    drop_oldest, ///< the oldest queued message is dropped to make room (counted)
    conflate,    ///< only the latest message per channel is kept; replaced ones are counted
    block,       ///< the publisher waits up to `queued::block_timeout`, then drops (counted)
    disconnect,  ///< the subscription is cancelled, its queue discarded (counted) and the
                 ///< error hook told, like Redis's output-buffer limit for slow subscribers
};

/// The enumerator's name, e.g. `"drop_newest"` (`"unknown"` for a value outside the enumeration).
/// **Thread-safety:** any thread; a pure function.
constexpr std::string_view to_string(Overflow value) noexcept {
    switch (value) {
    case Overflow::drop_newest:
        return "drop_newest";
    case Overflow::drop_oldest:
        return "drop_oldest";
    case Overflow::conflate:
        return "conflate";
    case Overflow::block:
        return "block";
    case Overflow::disconnect:
        return "disconnect";
    }
    return "unknown";
}

/// What the slow-consumer callback receives, once per overflow episode.
/// **Thread-safety:** read on the publishing thread that overflowed the queue.
/// **Lifetime:** valid only during the callback: `channel` is a view; copy it to keep it.
struct SlowConsumer {
    std::uint64_t subscription_id; ///< the subscription whose queue overflowed
    std::string_view channel;      ///< the channel of the message that overflowed it
    Overflow overflow;             ///< its policy
    std::size_t capacity;          ///< its capacity
};

/// Options of a queued subscription: `broker.subscribe(topic, handler, herald::queued{...})`.
/// **Thread-safety:** a value; the subscription keeps its own copy, never changed afterwards.
/// **Lifetime:** what `executor` and `on_slow_consumer` refer to must outlive the subscription.
struct QueueOptions {
    /// Maximum queued messages (for `conflate`: maximum distinct channels pending). Must be at
    /// least 1: a capacity of 0 is rejected, never read as "unlimited".
    std::size_t capacity = 1024;
    /// What a full queue does.
    Overflow overflow = Overflow::drop_newest;
    /// For `Overflow::block`: how long a publisher waits for room before dropping.
    std::chrono::nanoseconds block_timeout = std::chrono::milliseconds(100);
    /// Where the handler runs (default: the broker's workers).
    Executor executor{};
    /// Called on the publishing thread at the first drop of an overflow episode; the episode
    /// ends when the consumer empties the queue. Must not throw (what it throws is swallowed).
    /// Any publishing thread may be the one calling it, while the handler runs elsewhere.
    std::function<void(const SlowConsumer&)> on_slow_consumer{};
};

/// The spelling of `QueueOptions` at the call site, fixed by the product's API:
/// `broker.subscribe(topic, handler, herald::queued{.capacity = 64})` reads as "subscribe,
/// queued". The lower-case name is deliberate.
using queued = QueueOptions;

/// Thrown for invalid queue options (a capacity of 0, the default executor on a
/// single_threaded broker, an executor given to a mailbox).
/// **Thread-safety:** immutable once thrown; copies may be read on any thread.
class queue_options_error : public std::invalid_argument {
public:
    /// Builds the error with the message `what` (the `std::invalid_argument` constructors).
    using std::invalid_argument::invalid_argument;
};

HERALD_NAMESPACE_END
