#pragma once
/// \file
/// herald's exception types, the exception policy and what the error hook receives.

#include <herald/version.hpp>

#include <cstdint>
#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>

HERALD_NAMESPACE_BEGIN

/// Base of the exceptions herald throws for failures at run time. Invalid arguments
/// (`pattern_error`, `queue_options_error`) derive from `std::invalid_argument` instead, as the
/// standard library's do.
/// **Thread-safety:** immutable once thrown; copies may be read on any thread.
class error : public std::runtime_error {
public:
    /// Builds the error with the message `what` (the `std::runtime_error` constructors).
    using std::runtime_error::runtime_error;
};

/// One channel name used with two payload types at once (e.g. `Topic<A>` and `Topic<B>` with
/// the same name, or a typed topic and the broker's string channels).
/// **Thread-safety:** immutable once thrown; copies may be read on any thread.
class type_mismatch_error : public error {
public:
    /// Builds the error for `channel`, bound to `bound_type` and used with `requested_type`
    /// (copies of all three are kept).
    type_mismatch_error(std::string_view channel, std::string_view bound_type,
                        std::string_view requested_type)
        : error("herald: channel '" + std::string(channel) + "' carries payload type '" +
                std::string(bound_type) + "' but was used with payload type '" +
                std::string(requested_type) + "'"),
          channel_(channel), bound_type_(bound_type), requested_type_(requested_type) {}

    /// The channel name, byte for byte.
    /// **Lifetime:** valid while this exception object lives.
    const std::string& channel() const noexcept { return channel_; }
    /// The name of the payload type the channel carries.
    /// **Lifetime:** valid while this exception object lives.
    const std::string& bound_type() const noexcept { return bound_type_; }
    /// The name of the payload type it was used with.
    /// **Lifetime:** valid while this exception object lives.
    const std::string& requested_type() const noexcept { return requested_type_; }

private:
    std::string channel_, bound_type_, requested_type_;
};

/// A publish nested deeper than the broker's limit (handlers publishing from handlers).
/// **Thread-safety:** immutable once thrown; copies may be read on any thread.
class dispatch_depth_error : public error {
public:
    /// Builds the error for the publish to `channel` refused at the nesting limit `limit`.
    dispatch_depth_error(std::string_view channel, std::size_t limit)
        : error("herald: publish to '" + std::string(channel) +
                "' refused: dispatch nesting exceeds the limit of " + std::to_string(limit)) {}
};

/// An operation on a broker that has been shut down (or a handle whose broker is gone).
/// **Thread-safety:** immutable once thrown; copies may be read on any thread.
class broker_closed_error : public error {
public:
    /// Builds the error with the message `what`.
    using error::error;
};

/// What the broker does when a handler throws (`BrokerOptions::exception_policy`), for inline
/// and queued handlers alike.
enum class ExceptionPolicy : std::uint8_t {
    isolate,       ///< count it, call the error hook, go on with the other handlers (default)
    rethrow_after, ///< as isolate, then rethrow the first exception from publish once all handlers
                   ///< ran
    terminate,     ///< call std::terminate
};

/// The enumerator's name, e.g. `"isolate"` (`"unknown"` for a value outside the enumeration).
/// **Thread-safety:** any thread; a pure function.
constexpr std::string_view to_string(ExceptionPolicy value) noexcept {
    switch (value) {
    case ExceptionPolicy::isolate:
        return "isolate";
    case ExceptionPolicy::rethrow_after:
        return "rethrow_after";
    case ExceptionPolicy::terminate:
        return "terminate";
    }
    return "unknown";
}

/// Why the error hook was called.
enum class ErrorKind : std::uint8_t {
    handler_exception, ///< a handler threw
    queue_disconnect,  ///< a queued subscription was cancelled by its `disconnect` overflow policy
    decode_failure,    ///< a message received from outside (the Redis bridge) could not be
                       ///< decoded; `subscription_id` is 0
};

/// The enumerator's name, e.g. `"handler_exception"` (`"unknown"` for a value outside the
/// enumeration).
/// **Thread-safety:** any thread; a pure function.
constexpr std::string_view to_string(ErrorKind value) noexcept {
    switch (value) {
    case ErrorKind::handler_exception:
        return "handler_exception";
    case ErrorKind::queue_disconnect:
        return "queue_disconnect";
    case ErrorKind::decode_failure:
        return "decode_failure";
    }
    return "unknown";
}

/// What the error hook receives.
/// **Thread-safety:** read on the thread the hook runs on (where the failure happened).
/// **Lifetime:** valid only during the hook call: `channel` and `pattern` are views; copy them
/// (and keep `exception`, which owns its exception) to use them later.
struct ErrorInfo {
    ErrorKind kind;                ///< why the hook was called
    std::string_view channel;      ///< the channel of the failed message
    std::string_view pattern;      ///< the pattern, for a pattern subscription
    std::uint64_t subscription_id; ///< `Subscription::id()` of the subscription
    std::exception_ptr exception;  ///< the exception (null for queue_disconnect)
};

HERALD_NAMESPACE_END
