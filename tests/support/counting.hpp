#pragma once
// Test helpers that count: copies and moves of a payload, and heap allocations on this thread.

#include <atomic>
#include <cstddef>
#include <string>

namespace herald_test {

/// A payload that counts how often it is copied or moved.
struct CopyCounter {
    static inline std::atomic<int> copies{0};
    static inline std::atomic<int> moves{0};
    std::string text;

    explicit CopyCounter(std::string t) : text(std::move(t)) {}
    CopyCounter(const CopyCounter& other) : text(other.text) { ++copies; }
    CopyCounter(CopyCounter&& other) noexcept : text(std::move(other.text)) { ++moves; }
    CopyCounter& operator=(const CopyCounter& other) {
        text = other.text;
        ++copies;
        return *this;
    }
    CopyCounter& operator=(CopyCounter&& other) noexcept {
        text = std::move(other.text);
        ++moves;
        return *this;
    }
    ~CopyCounter() = default;

    static void reset() {
        copies = 0;
        moves = 0;
    }
};

/// Heap allocations made by the calling thread while counting is on (see allocation_counter.cpp).
struct AllocationCounter {
    static void start() noexcept;
    static std::size_t stop() noexcept;
};

} // namespace herald_test
