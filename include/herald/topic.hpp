#pragma once
/// \file
/// `herald::Topic<T>`: a channel name bound to a payload type at compile time.

#include <herald/version.hpp>

#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

HERALD_NAMESPACE_BEGIN

/// A channel name bound to the payload type `T`. Publishing anything but a `T` to it does not
/// compile; subscribing to it delivers `const T&` (or `const Message<T>&`).
/// **Thread-safety:** a value, immutable unless assigned to; share it freely (typically as an
/// `inline const` object in a header).
/// **Lifetime:** independent of any broker; it only names a channel (the broker copies the
/// name it needs).
template <class T>
class Topic {
    static_assert(std::is_same_v<T, std::remove_cvref_t<T>>,
                  "herald::Topic<T>: T must be a plain object type, not a reference or const");
    static_assert(std::is_destructible_v<T>, "herald::Topic<T>: T must be destructible");

public:
    /// The payload type the topic carries.
    using payload_type = T;

    /// Binds `name` (any bytes, empty allowed) to `T`, taking over the string.
    /// **Thread-safety:** any thread.
    /// **Lifetime:** `name` is moved into the topic.
    explicit Topic(std::string name) : name_(std::move(name)) {}
    /// Binds `name` (any bytes, empty allowed) to `T`.
    /// **Thread-safety:** any thread.
    /// **Lifetime:** the bytes are copied; `name` need only live for the call.
    explicit Topic(std::string_view name) : name_(name) {}
    /// Binds the NUL-terminated `name` to `T`.
    /// **Thread-safety:** any thread.
    /// **Lifetime:** the bytes are copied; `name` need only live for the call.
    explicit Topic(const char* name) : name_(name) {}

    /// The channel name.
    /// **Thread-safety:** any thread, concurrently with other const calls.
    /// **Lifetime:** valid while the topic lives and is not assigned to.
    const std::string& name() const noexcept { return name_; }

private:
    std::string name_;
};

HERALD_NAMESPACE_END
