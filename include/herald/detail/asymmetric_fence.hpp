#pragma once
// A fence pair in which one side is almost free: the read side (every publish) issues the
// light fence, the rare write side (unsubscribe, reclamation, a revoked counter bias) the
// heavy one. On Linux the heavy fence is `membarrier(PRIVATE_EXPEDITED)`, which interrupts
// every thread of the process, so the light fence can be a compiler barrier. Elsewhere both
// are sequentially consistent fences.

#include <herald/detail/platform.hpp>
#include <herald/version.hpp>

#include <atomic>

#if defined(__linux__)
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

HERALD_NAMESPACE_BEGIN
namespace detail {

class AsymmetricFence {
public:
    /// Orders the caller's earlier stores before its later loads, as seen by a thread that
    /// issues heavy(). Cheap: a compiler barrier when membarrier is available.
    static void light() noexcept {
        if (expedited_.load(std::memory_order_relaxed)) {
            std::atomic_signal_fence(std::memory_order_seq_cst);
        } else {
            full_fence();
        }
    }

    /// Makes every other thread's earlier stores visible and orders them before the caller's
    /// later loads. Expensive (a system call) when membarrier is in use.
    static void heavy() noexcept {
#if defined(__linux__)
        if (expedited_.load(std::memory_order_relaxed)) {
            if (::syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0) {
                return;
            }
        }
#endif
        full_fence();
    }

    /// Registers the process for expedited membarrier once. Until it succeeds, light() issues
    /// real fences, so correctness never depends on it.
    static void initialise() noexcept {
        static const bool registered = [] {
#if defined(__linux__) && !defined(HERALD_NO_MEMBARRIER)
            const long supported = ::syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
            if (supported > 0 && (supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0 &&
                ::syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0) {
                expedited_.store(true, std::memory_order_seq_cst);
                return true;
            }
#endif
            return false;
        }();
        (void)registered;
    }

    static bool expedited() noexcept {
        return expedited_.load(std::memory_order_relaxed);
    }

private:
    static inline std::atomic<bool> expedited_{false};
};

/// One per (thread, domain). Never freed: a thread that exits returns its record for reuse, so

} // namespace detail
HERALD_NAMESPACE_END
