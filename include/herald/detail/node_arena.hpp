#pragma once
// Memory for message nodes: per-thread arenas of recycled blocks, so steady-state queued
// delivery allocates nothing.

#include <herald/version.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>

HERALD_NAMESPACE_BEGIN
namespace detail {

/// Memory for queue nodes. Every thread that builds nodes owns an arena of recycled blocks in
/// a few size classes; a block freed by any thread (a consumer, usually) goes back to the arena
/// of the thread that allocated it, through a lock-free stack only that thread empties. Steady
/// state queued delivery then allocates nothing, and the allocator never sees a block freed on
/// another thread than the one that allocated it (its arena lock would be contended on every
/// message). An arena outlives its thread until the last of its blocks comes back.
class alignas(64) NodeArena { // its address leaves room for a size class in Block::tag
public:
    /// What precedes every node in its block. Arena blocks are aligned to a cache line, so a
    /// node with a small payload spans as few lines as its size allows.
    struct alignas(16) Block {
        Block* next;        // in a free list or the returned stack
        std::uintptr_t tag; // the home arena's address | size class; 0: a plain heap block

        NodeArena* home() const noexcept {
            return reinterpret_cast<NodeArena*>(tag & ~std::uintptr_t{line - 1});
        }
        std::uint32_t size_class() const noexcept {
            return static_cast<std::uint32_t>(tag & (line - 1));
        }
    };
    static constexpr std::size_t header = sizeof(Block);
    static constexpr std::size_t line = 64;
    static constexpr std::size_t granule = 64;
    static constexpr std::size_t classes = 8; // blocks of 64 to 512 bytes
    static_assert(header == 16 && classes <= line);

    /// A block of at least `bytes` after the header (aligned to 16), from this thread's arena
    /// when small.
    static void* allocate(std::size_t bytes) {
        const std::size_t size_class = (header + bytes - 1) / granule;
        if (size_class < classes) {
            if (NodeArena* arena = this_thread()) [[likely]] {
                return arena->take(static_cast<std::uint32_t>(size_class)) + 1;
            }
        }
        auto* block = static_cast<Block*>(::operator new(header + bytes));
        block->next = nullptr;
        block->tag = 0;
        return block + 1;
    }

    /// Gives back what `allocate` returned; any thread.
    static void deallocate(void* memory) noexcept {
        Block* block = static_cast<Block*>(memory) - 1;
        if (block->tag == 0) {
            ::operator delete(block);
            return;
        }
        NodeArena* home = block->home();
        Block* head = home->returned_.load(std::memory_order_relaxed);
        do {
            if (head == closed()) {
                // The owner has gone: this block is freed here, and the arena with the last.
                free_block(block);
                home->leave();
                return;
            }
            block->next = head;
        } while (!home->returned_.compare_exchange_weak(head, block, std::memory_order_release,
                                                        std::memory_order_relaxed));
    }

    NodeArena() = default;
    NodeArena(const NodeArena&) = delete;
    NodeArena& operator=(const NodeArena&) = delete;

private:
    // The owner's side. `out_` counts blocks of this arena not in its free lists: in use, or
    // back in the returned stack; `out_by_class_` the same per size class, and `peak_` its
    // highest value, which bounds what a free list keeps.
    Block* take(std::uint32_t size_class) {
        if (free_[size_class] == nullptr) {
            reclaim();
        }
        Block* block = free_[size_class];
        if (block != nullptr) {
            free_[size_class] = block->next;
            --kept_[size_class];
        } else {
            block = static_cast<Block*>(
                ::operator new ((size_class + 1) * granule, std::align_val_t{line}));
            block->tag = reinterpret_cast<std::uintptr_t>(this) | size_class;
        }
        ++out_;
        if (++out_by_class_[size_class] > peak_[size_class]) {
            peak_[size_class] = out_by_class_[size_class];
        }
        return block;
    }

    /// Moves what other threads gave back into the free lists. A list keeps as many blocks as
    /// were ever out at once (a full queue's worth, typically: that memory was needed and
    /// will be again), at least `keep_min_bytes` and at most `keep_max_bytes` of them; the
    /// rest goes back to the allocator, from this thread.
    void reclaim() noexcept {
        Block* list = returned_.exchange(nullptr, std::memory_order_acquire);
        while (list != nullptr) {
            Block* block = list;
            list = list->next;
            --out_;
            const std::uint32_t c = block->size_class();
            --out_by_class_[c];
            const std::size_t kept_bytes = kept_[c] * (c + 1) * granule;
            if (kept_bytes >= keep_max_bytes ||
                (kept_[c] >= peak_[c] && kept_bytes >= keep_min_bytes)) {
                free_block(block);
            } else {
                block->next = free_[c];
                free_[c] = block;
                ++kept_[c];
            }
        }
    }

    /// The owning thread ends: frees what it can; the arena lives on while blocks are out.
    void close() noexcept {
        Block* list = returned_.exchange(closed(), std::memory_order_acq_rel);
        while (list != nullptr) {
            Block* block = std::exchange(list, list->next);
            free_block(block);
            --out_;
        }
        for (Block*& head : free_) {
            while (head != nullptr) {
                free_block(std::exchange(head, head->next));
            }
        }
        // Exactly `out_` blocks will still come back, each calling leave(); `remaining_` may
        // already be negative from those that came back since the exchange above.
        const auto out = static_cast<std::int64_t>(out_);
        if (remaining_.fetch_add(out, std::memory_order_acq_rel) + out == 0) {
            delete this;
        }
    }

    void leave() noexcept {
        if (remaining_.fetch_sub(1, std::memory_order_acq_rel) - 1 == 0) {
            delete this;
        }
    }

    static void free_block(Block* block) noexcept {
        ::operator delete (block, std::align_val_t{line});
    }

    static Block* closed() noexcept {
        static Block marker{};
        return &marker;
    }

    struct Owner {
        NodeArena* arena = nullptr;
        ~Owner() {
            if (arena != nullptr) {
                current() = nullptr;
                gone() = true; // later node allocations on this thread use the heap
                arena->close();
            }
        }
    };
    static NodeArena*& current() noexcept {
        thread_local NodeArena* arena = nullptr;
        return arena;
    }
    static bool& gone() noexcept {
        thread_local bool value = false;
        return value;
    }
    static NodeArena* this_thread() {
        NodeArena* arena = current();
        return arena != nullptr ? arena : first_use();
    }
    [[gnu::noinline]] static NodeArena* first_use() {
        if (gone()) {
            return nullptr;
        }
        thread_local Owner owner;
        owner.arena = new NodeArena;
        current() = owner.arena;
        return owner.arena;
    }

    static constexpr std::size_t keep_min_bytes = std::size_t{256} << 10;
    static constexpr std::size_t keep_max_bytes = std::size_t{8} << 20;

    Block* free_[classes] = {};
    std::size_t kept_[classes] = {};
    std::size_t out_by_class_[classes] = {};
    std::size_t peak_[classes] = {};
    std::size_t out_ = 0;
    alignas(64) std::atomic<Block*> returned_{nullptr};
    std::atomic<std::int64_t> remaining_{0};
};

} // namespace detail
HERALD_NAMESPACE_END
