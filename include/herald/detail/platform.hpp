#pragma once
// Compiler and processor primitives the data path uses: forced inlining, fences, spin hints
// and prefetches. Nothing here knows about brokers.

#include <herald/version.hpp>

#include <atomic>

#if defined(__GNUC__) || defined(__clang__)
/// Forces a function inline on the hot path (the one such attribute herald uses).
#define HERALD_ALWAYS_INLINE [[gnu::always_inline]] inline
#elif defined(_MSC_VER)
#define HERALD_ALWAYS_INLINE __forceinline
#else
#define HERALD_ALWAYS_INLINE inline
#endif

HERALD_NAMESPACE_BEGIN
namespace detail {

// herald's fences only order a thread's own stores before its later loads (the handshakes of
// epoch.hpp), or upgrade a relaxed read of a counter that was written before a reference was
// dropped; every hand-over of data is a release/acquire pair, which ThreadSanitizer does
// check. GCC's "-Wtsan" note that TSan ignores fences is therefore silenced here, at the one
// place herald issues them.

/// A sequentially consistent fence.
inline void full_fence() noexcept {
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#if __GNUC__ >= 12
#pragma GCC diagnostic ignored "-Wtsan"
#endif
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
#pragma GCC diagnostic pop
#else
    std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

/// An acquire fence.
inline void acquire_fence() noexcept {
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#if __GNUC__ >= 12
#pragma GCC diagnostic ignored "-Wtsan"
#endif
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
#pragma GCC diagnostic pop
#else
    std::atomic_thread_fence(std::memory_order_acquire);
#endif
}

/// A spin-wait hint to the processor.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

/// Starts loading the cache line of `address`.
inline void prefetch(const void* address) noexcept {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(address);
#else
    (void)address;
#endif
}

} // namespace detail
HERALD_NAMESPACE_END
