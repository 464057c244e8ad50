#pragma once
// The queue of a queued subscription under every overflow policy but `conflate`: a bounded
// lock-free ring of queue entries.

#include <herald/detail/message_node.hpp>
#include <herald/version.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

HERALD_NAMESPACE_BEGIN
namespace detail {

/// A bounded multi-producer multi-consumer ring with an exact capacity (any value >= 1).
/// Each cell carries a sequence number telling whose turn it is, so producers and consumers
/// only contend on their own cursor. The scheme needs two cells at least (with one, "written"
/// and "free again" carry the same number), so a capacity of 1 uses two cells and bounds the
/// length against the consumer's cursor instead.
class BoundedRing {
public:
    explicit BoundedRing(std::size_t capacity)
        : limit_(capacity), capacity_(std::max<std::size_t>(capacity, 2)),
          mask_((capacity_ & (capacity_ - 1)) == 0 ? capacity_ - 1 : 0),
          cells_(std::make_unique<Cell[]>(capacity_)) {
        for (std::size_t i = 0; i < capacity_; ++i) {
            cells_[i].sequence.store(i, std::memory_order_relaxed);
        }
    }

    bool try_push(const QueueEntry& item) noexcept {
        std::uint64_t position = tail_.load(std::memory_order_relaxed);
        Cell* cell = nullptr;
        for (;;) {
            cell = &cells_[index(position)];
            const std::uint64_t seq = cell->sequence.load(std::memory_order_acquire);
            const auto diff = static_cast<std::int64_t>(seq - position);
            if (diff == 0) {
                if (limit_ != capacity_ &&
                    position - head_.load(std::memory_order_acquire) >= limit_) {
                    return false; // full (the consumer's cursor only moves forward)
                }
                if (tail_.compare_exchange_weak(position, position + 1,
                                                std::memory_order_relaxed)) {
                    break;
                }
            } else if (diff < 0) {
                return false; // full
            } else {
                position = tail_.load(std::memory_order_relaxed);
            }
        }
        cell->item = item;
        cell->sequence.store(position + 1, std::memory_order_release);
        return true;
    }

    bool try_pop(QueueEntry& out) noexcept {
        std::uint64_t position = head_.load(std::memory_order_relaxed);
        Cell* cell = nullptr;
        for (;;) {
            cell = &cells_[index(position)];
            const std::uint64_t seq = cell->sequence.load(std::memory_order_acquire);
            const auto diff = static_cast<std::int64_t>(seq - (position + 1));
            if (diff == 0) {
                if (head_.compare_exchange_weak(position, position + 1,
                                                std::memory_order_relaxed)) {
                    break;
                }
            } else if (diff < 0) {
                return false; // empty (or the next item is still being written)
            } else {
                position = head_.load(std::memory_order_relaxed);
            }
        }
        out = cell->item;
        cell->sequence.store(position + capacity_, std::memory_order_release);
        return true;
    }

    /// Items claimed by producers and not yet claimed by consumers (some may still be being
    /// written).
    std::size_t size() const noexcept {
        const std::uint64_t head = head_.load(std::memory_order_seq_cst);
        const std::uint64_t tail = tail_.load(std::memory_order_seq_cst);
        return tail > head ? static_cast<std::size_t>(tail - head) : 0;
    }

private:
    struct Cell {
        std::atomic<std::uint64_t> sequence{0};
        QueueEntry item;
    };
    std::size_t index(std::uint64_t position) const noexcept {
        // A division costs tens of cycles on both sides of every message; the usual
        // power-of-two capacities take a mask instead.
        return static_cast<std::size_t>(mask_ != 0 ? position & mask_ : position % capacity_);
    }

    const std::size_t limit_;    // the capacity asked for
    const std::size_t capacity_; // cells: max(limit_, 2)
    const std::size_t mask_;     // capacity_ - 1 when capacity_ is a power of two, else 0
    std::unique_ptr<Cell[]> cells_;
    alignas(64) std::atomic<std::uint64_t> tail_{0};
    alignas(64) std::atomic<std::uint64_t> head_{0};
};

} // namespace detail
HERALD_NAMESPACE_END
