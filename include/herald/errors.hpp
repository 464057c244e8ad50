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
class error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// One channel name used with two payload types at once (e.g. `Topic<A>` and `Topic<B>` with
/// the same name, or a typed topic and the broker's string channels).
class type_mismatch_error : public error {
public:
    type_mismatch_error(std::string_view channel, std::string_view bound_type,
                        std::string_view requested_type)
        : error("herald: channel '" + std::string(channel) + "' carries payload type '" +
                std::string(bound_type) + "' but was used with payload type '" +
                std::string(requested_type) + "'"),
          channel_(channel), bound_type_(bound_type), requested_type_(requested_type) {}

    const std::string& channel() const noexcept { return channel_; }
    const std::string& bound_type() const noexcept { return bound_type_; }
    const std::string& requested_type() const noexcept { return requested_type_; }

private:
    std::string channel_, bound_type_, requested_type_;
};

/// A publish nested deeper than the broker's limit (handlers publishing from handlers).
class dispatch_depth_error : public error {
public:
    dispatch_depth_error(std::string_view channel, std::size_t limit)
        : error("herald: publish to '" + std::string(channel) +
                "' refused: dispatch nesting exceeds the limit of " + std::to_string(limit)) {}
};

/// An operation on a broker that has been shut down (or a handle whose broker is gone).
class broker_closed_error : public error {
public:
    using error::error;
};

/// What the broker does when a handler throws.
enum class ExceptionPolicy : std::uint8_t {
    isolate,       ///< count it, call the error hook, go on with the other handlers (default)
    rethrow_after, ///< as isolate, then rethrow the first exception from publish once all handlers
                   ///< ran
    terminate,     ///< call std::terminate
};

/// Why the error hook was called.
enum class ErrorKind : std::uint8_t {
    handler_exception, ///< a handler threw
    queue_disconnect,  ///< a queued subscription was cancelled by its `disconnect` overflow policy
    decode_failure,    ///< a message received from outside (the Redis bridge) could not be
                       ///< decoded; `subscription_id` is 0
};

/// What the error hook receives.
/// **Lifetime:** valid only during the hook call.
struct ErrorInfo {
    ErrorKind kind;
    std::string_view channel;      ///< the channel of the failed message
    std::string_view pattern;      ///< the pattern, for a pattern subscription
    std::uint64_t subscription_id; ///< `Subscription::id()` of the subscription
    std::exception_ptr exception;  ///< the exception (null for queue_disconnect)
};

HERALD_NAMESPACE_END
