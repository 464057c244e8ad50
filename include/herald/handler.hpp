#pragma once
/// \file
/// What `subscribe` accepts as a handler and what `publish` accepts as a payload: the concepts
/// that make a wrong handler or a wrong payload type a compile error naming the problem.

#include <herald/message.hpp>
#include <herald/version.hpp>

#include <concepts>
#include <string>
#include <string_view>
#include <type_traits>

HERALD_NAMESPACE_BEGIN

/// A handler that takes the bare payload: callable with `const T&`.
template <class H, class T>
concept PayloadHandler = std::invocable < std::decay_t<H>
&, const T& > ;

/// A handler that takes the envelope: callable with `const herald::Message<T>&`.
template <class H, class T>
concept EnvelopeHandler = std::invocable < std::decay_t<H>
&, const Message<T>& > ;

/// What `subscribe` accepts for payload type `T`: a callable taking `const T&` or
/// `const herald::Message<T>&`, constructible from what was passed.
/// **Thread-safety:** an inline handler runs on every publishing thread, possibly on several
/// at once, so on a thread_safe broker it must be safe for concurrent calls; a queued handler
/// never runs concurrently with itself.
/// **Lifetime:** the broker keeps a `std::decay_t<H>` made from the argument and destroys it
/// once the subscription has ended and no dispatch can reach it.
template <class H, class T>
concept Handler = (PayloadHandler<H, T> ||
                   EnvelopeHandler<H, T>)&&std::constructible_from<std::decay_t<H>, H>;

/// What may be published to a `Topic<T>`: a `T` itself, or, for string payloads, anything
/// that is a string (a literal, a `std::string_view`). Anything else is a compile error.
template <class U, class T>
concept PublishableTo = std::same_as<std::remove_cvref_t<U>, T> ||
    (std::same_as<T, std::string>&& std::convertible_to<U, std::string_view>);

namespace detail {
/// False for every type: a `static_assert` that fires only when its template is instantiated.
template <class>
inline constexpr bool always_false = false;
} // namespace detail

HERALD_NAMESPACE_END
