#pragma once
// The hash of a channel name, as the channel table keys it. A `Topic` computes it once, when
// it is made, so a publish to a topic does not hash the name again.

#include <herald/version.hpp>

#include <cstddef>
#include <functional>
#include <string_view>

HERALD_NAMESPACE_BEGIN
namespace detail {

inline std::size_t hash_channel(std::string_view name) noexcept {
    return std::hash<std::string_view>{}(name);
}

} // namespace detail
HERALD_NAMESPACE_END
