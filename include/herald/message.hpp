#pragma once
/// \file
/// `herald::Message<T>`: the envelope a handler may take instead of the bare payload.

#include <herald/version.hpp>

#include <chrono>
#include <cstdint>
#include <string_view>

HERALD_NAMESPACE_BEGIN

/// What kind of subscription a message arrived through, as in Redis's pub/sub replies.
enum class MessageKind : std::uint8_t {
    message,  ///< through an exact channel subscription (`subscribe`)
    pmessage, ///< through a pattern subscription (`psubscribe`)
};

/// The envelope of one delivery: what a handler taking `const Message<T>&` receives.
/// **Thread-safety:** the payload is shared with every other receiver, possibly read by
/// handlers on other threads at once: read it only.
/// **Lifetime:** a view. Inside a handler every member is valid until the handler returns; a
/// handler that needs the payload later copies it (or subscribes to a `shared_ptr` payload).
template <class T>
struct Message {
    MessageKind kind;         ///< `message` or `pmessage`
    std::string_view pattern; ///< the pattern that matched (empty for `message`)
    std::string_view channel; ///< the channel the message was published on
    const T& payload;         ///< the payload, shared (immutable) among all receivers
    std::uint64_t sequence;   ///< position in this subscriber list's stream, from 1
    std::chrono::system_clock::time_point published_at; ///< when `publish` was called
};

HERALD_NAMESPACE_END
