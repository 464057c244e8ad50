#pragma once
/// \file
/// `herald::Topic<T>`: a channel name bound to a payload type at compile time.

#include <herald/detail/channel_hash.hpp>
#include <herald/version.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

HERALD_NAMESPACE_BEGIN

namespace detail {
struct TopicAccess;
} // namespace detail

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
    explicit Topic(std::string name) : name_(std::move(name)), hash_(detail::hash_channel(name_)) {}
    /// Binds `name` (any bytes, empty allowed) to `T`.
    /// **Thread-safety:** any thread.
    /// **Lifetime:** the bytes are copied; `name` need only live for the call.
    explicit Topic(std::string_view name) : name_(name), hash_(detail::hash_channel(name_)) {}
    /// Binds the NUL-terminated `name` to `T`.
    /// **Thread-safety:** any thread.
    /// **Lifetime:** the bytes are copied; `name` need only live for the call.
    explicit Topic(const char* name) : name_(name), hash_(detail::hash_channel(name_)) {}

    /// The channel name.
    /// **Thread-safety:** any thread, concurrently with other const calls.
    /// **Lifetime:** valid while the topic lives and is not assigned to.
    const std::string& name() const noexcept { return name_; }

    /// A copy naming the same channel.
    /// **Thread-safety:** not while `other` is assigned to.
    /// **Lifetime:** independent of `other`.
    Topic(const Topic& other) = default;
    /// Takes over `other`'s name; `other` is left naming the empty channel.
    /// **Thread-safety:** not while another thread uses `other`.
    /// **Lifetime:** independent of `other` afterwards.
    Topic(Topic&& other) noexcept : name_(std::move(other.name_)), hash_(other.hash_) {
        other.reset_moved_from();
    }
    /// Names the channel `other` names.
    /// **Thread-safety:** not while another thread uses this topic or assigns to `other`.
    /// **Lifetime:** views of the old name end here.
    Topic& operator=(const Topic& other) = default;
    /// Takes over `other`'s name; `other` is left naming the empty channel.
    /// **Thread-safety:** not while another thread uses either topic.
    /// **Lifetime:** views of the old name end here.
    Topic& operator=(Topic&& other) noexcept {
        if (this != &other) {
            name_ = std::move(other.name_);
            hash_ = other.hash_;
            other.reset_moved_from();
        }
        return *this;
    }
    /// Destroys the name.
    /// **Thread-safety:** not while another thread uses this topic.
    /// **Lifetime:** views of the name end here.
    ~Topic() = default;

private:
    friend struct detail::TopicAccess;

    void reset_moved_from() noexcept {
        name_.clear();
        hash_ = detail::hash_channel(name_);
    }

    std::string name_;
    std::size_t hash_; // detail::hash_channel(name_), kept so a publish need not hash
};

namespace detail {
/// The hash a topic keeps of its name, for the dispatcher's lookup.
struct TopicAccess {
    template <class T>
    static std::size_t hash(const Topic<T>& topic) noexcept {
        return topic.hash_;
    }
};
} // namespace detail

HERALD_NAMESPACE_END
