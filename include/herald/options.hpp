#pragma once
/// \file
/// What is chosen when a broker is made: its concurrency policy, its options, what its
/// dead-letter channel receives, and how its shutdown treats queued messages.

#include <herald/errors.hpp>
#include <herald/version.hpp>

#include <string_view>

#include <any>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>

HERALD_NAMESPACE_BEGIN

/// Concurrency policy (the default): every member function may be called from any thread.
/// **Thread-safety:** a tag type with no state.
struct thread_safe {};
/// Concurrency policy for a broker used by one thread only: no locks and no atomic
/// read-modify-writes. Re-entrant use from handlers stays safe.
/// **Thread-safety:** a tag type with no state; the broker it chooses is for one thread.
struct single_threaded {};

/// What the dead-letter channel receives when a handler throws (see `BrokerOptions`),
/// published as a `DeadLetter` payload after the failed dispatch level has closed.
/// **Thread-safety:** a value; the dead-letter subscribers share one (read it only).
/// **Lifetime:** owns copies of everything it names: it may be kept after the handler.
struct DeadLetter {
    std::string channel;           ///< where the failed message was published
    std::string pattern;           ///< the pattern, for a pattern subscription
    std::uint64_t subscription_id; ///< the failing subscription
    std::exception_ptr error;      ///< what it threw
    std::any payload;              ///< a copy of the payload (empty for non-copyable payloads)
};

/// Construction-time settings of a broker.
/// **Thread-safety:** a value; the broker keeps its own copy, never changed afterwards.
struct BrokerOptions {
    /// What happens when a handler throws.
    ExceptionPolicy exception_policy = ExceptionPolicy::isolate;
    /// Deepest nesting of publish-from-a-handler allowed; a deeper publish throws
    /// `dispatch_depth_error` (reported, never a stack overflow). At most
    /// `HERALD_MAX_DISPATCH_DEPTH` (1024 unless defined otherwise).
    std::size_t max_depth = 256;
    /// When not empty, every message whose handler threw is also published there as a
    /// `DeadLetter` (failures on the dead-letter channel itself are only counted).
    std::string dead_letter_channel;
    /// Threads of the worker pool that runs queued subscriptions on the default executor,
    /// started with the first such subscription (thread_safe brokers only).
    std::size_t workers = 1;
};

/// How `Broker::shutdown` (and the broker's destructor, with `drain`) treats messages still
/// queued.
enum class ShutdownMode : std::uint8_t {
    drain,   ///< deliver them first (on the broker's workers, else on the calling thread)
    discard, ///< drop them, counted as dropped
};

/// The enumerator's name, e.g. `"drain"` (`"unknown"` for a value outside the enumeration).
/// **Thread-safety:** any thread; a pure function.
constexpr std::string_view to_string(ShutdownMode value) noexcept {
    switch (value) {
    case ShutdownMode::drain:
        return "drain";
    case ShutdownMode::discard:
        return "discard";
    }
    return "unknown";
}

HERALD_NAMESPACE_END
