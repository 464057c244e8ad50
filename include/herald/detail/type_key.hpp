#pragma once
// Type identity that holds across shared libraries: two copies of the key for one type (one per
// library) compare equal by the type's name, not by the address of an object or of a typeinfo.

#include <herald/version.hpp>

#include <cstddef>
#include <string_view>

HERALD_NAMESPACE_BEGIN
namespace detail {

template <class T>
constexpr std::string_view raw_type_name() noexcept {
#if defined(__clang__) || defined(__GNUC__)
    return __PRETTY_FUNCTION__;
#elif defined(_MSC_VER)
    return __FUNCSIG__;
#else
#error "herald needs __PRETTY_FUNCTION__ or __FUNCSIG__ to name types"
#endif
}

/// The type's name as the compiler spells it, e.g. "DriverStatus" or
/// "std::__cxx11::basic_string<char>".
template <class T>
constexpr std::string_view type_name() noexcept {
    constexpr std::string_view probe = raw_type_name<int>();
    constexpr std::size_t prefix = probe.find("int");
    constexpr std::size_t suffix = probe.size() - prefix - 3;
    constexpr std::string_view full = raw_type_name<T>();
    return full.substr(prefix, full.size() - prefix - suffix);
}

/// A payload type's identity. Compared by address first (one copy per library) and by name
/// otherwise.
struct TypeKey {
    std::string_view name;

    friend bool operator==(const TypeKey& a, const TypeKey& b) noexcept {
        return &a == &b || a.name == b.name;
    }
};

template <class T>
inline constexpr TypeKey type_key{type_name<T>()};

} // namespace detail
HERALD_NAMESPACE_END
