#pragma once
// What a broker's concurrency policy chooses inside: whether it is concurrent, and its lock
// types (real ones, or locks that do nothing for a single_threaded broker).

#include <herald/options.hpp>
#include <herald/version.hpp>

#include <mutex>
#include <shared_mutex>
#include <type_traits>

HERALD_NAMESPACE_BEGIN
namespace detail {

/// A lock that does nothing (single_threaded brokers).
struct NullMutex {
    void lock() noexcept {}
    void unlock() noexcept {}
    bool try_lock() noexcept { return true; }
    void lock_shared() noexcept {}
    void unlock_shared() noexcept {}
};

template <bool Concurrent>
struct Locks {
    using Mutex = std::conditional_t<Concurrent, std::mutex, NullMutex>;
    using SharedMutex = std::conditional_t<Concurrent, std::shared_mutex, NullMutex>;
};

/// `Policy` is thread_safe.
template <class Policy>
inline constexpr bool is_concurrent = std::is_same_v<Policy, thread_safe>;

} // namespace detail
HERALD_NAMESPACE_END
