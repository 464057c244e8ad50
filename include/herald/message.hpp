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

/// The enumerator's name, e.g. `"message"` (`"unknown"` for a value outside the enumeration).
/// **Thread-safety:** any thread; a pure function.
constexpr std::string_view to_string(MessageKind value) noexcept {
    switch (value) {
    case MessageKind::message:
        return "message";
    case MessageKind::pmessage:
        return "pmessage";
    }
    return "unknown";
}

/// The envelope of one delivery: what a handler taking `const Message<T>&` receives.
/// **Thread-safety:** the payload is shared with every other receiver, possibly read by
/// handlers on other threads at once: read it only.
/// **Lifetime:** a view. Inside a handler every member is valid until the handler returns; a
/// handler that needs the payload later copies it (or subscribes to a `shared_ptr` payload).
/// A `Message` cannot be copied, so it cannot be kept by mistake in a container where it would
/// outlive what it refers to: copy the payload out, or receive through a `Mailbox`, whose
/// `Envelope` owns its message.
template <class T>
struct Message {
    /// A message view; made by the broker for each delivery.
    /// **Thread-safety:** any thread.
    /// **Lifetime:** refers to `pattern_text`, `channel_name` and `value`, which must outlive it.
    constexpr Message(MessageKind message_kind, std::string_view pattern_text,
                      std::string_view channel_name, const T& value, std::uint64_t position,
                      std::chrono::system_clock::time_point at) noexcept
        : kind(message_kind), pattern(pattern_text), channel(channel_name), payload(value),
          sequence(position), published_at(at) {}
    // Deleted: a copy would outlive the delivery it views (see the class comment).
    Message(const Message&) = delete;
    Message& operator=(const Message&) = delete;

    MessageKind kind;         ///< `message` or `pmessage`
    std::string_view pattern; ///< the pattern that matched (empty for `message`)
    std::string_view channel; ///< the channel the message was published on
    const T& payload;         ///< the payload, shared (immutable) among all receivers
    std::uint64_t sequence;   ///< position in this subscriber list's stream, from 1
    std::chrono::system_clock::time_point published_at; ///< when `publish` was called
};

HERALD_NAMESPACE_END
