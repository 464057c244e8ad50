#pragma once
// Queued delivery internals: one shared node per publish, a bounded ring per subscription,
// mailbox-style scheduling (a subscription is scheduled at most once at a time, so its handler
// never runs concurrently with itself) and the broker's worker pool.

#include <herald/detail/core.hpp>
#include <herald/detail/epoch.hpp>
#include <herald/queue.hpp>
#include <herald/stats.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <exception>
#include <limits>
#include <list>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

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

/// One publish, shared by every queue it went into: the payload, the channel and the time.
/// One block holds the node, then the channel's bytes, then the payload, so building it is
/// one allocation (usually none: see NodeArena) and a 64-byte payload with a short channel
/// name fits in two cache lines with the block's header.
struct QueueNode {
    QueueNode(void (*destroy_fn)(QueueNode*) noexcept, std::uint32_t channel_bytes) noexcept
        : channel_size(channel_bytes), destroy(destroy_fn) {}
    QueueNode(const QueueNode&) = delete;
    QueueNode& operator=(const QueueNode&) = delete;

    void add_ref() noexcept { refs.fetch_add(1, std::memory_order_relaxed); }
    void release() noexcept {
        if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            destroy(this);
        }
    }

    /// The channel the message was published on.
    std::string_view channel() const noexcept {
        return {reinterpret_cast<const char*>(this + 1), channel_size};
    }

    std::atomic<std::uint32_t> refs{1};
    std::uint32_t channel_size;
    void (*destroy)(QueueNode*) noexcept;
    std::chrono::system_clock::time_point published_at{};
    const void* payload = nullptr; // in the same block, after the channel
};

/// Builds and destroys the nodes of payload type `T`.
template <class T>
struct TypedQueueNode {
    /// A node holding `from`, with a copy of `channel_name` in the same block.
    template <class U>
    static QueueNode* create(std::string_view channel_name, U&& from) {
        if (channel_name.size() > std::numeric_limits<std::uint32_t>::max()) [[unlikely]] {
            throw std::length_error("herald: a channel name of 4 GiB or more cannot be queued");
        }
        const auto name_size = static_cast<std::uint32_t>(channel_name.size());
        // Blocks are aligned to 16; more is made up for by padding before the payload.
        constexpr std::size_t padding = alignof(T) > 16 ? alignof(T) - 16 : 0;
        void* memory = NodeArena::allocate(payload_offset(name_size) + padding + sizeof(T));
        char* name = static_cast<char*>(memory) + sizeof(QueueNode);
        if (name_size != 0) {
            std::memcpy(name, channel_name.data(), name_size);
        }
        void* place = align_up(static_cast<char*>(memory) + payload_offset(name_size));
        try {
            ::new (place) T(std::forward<U>(from));
        } catch (...) {
            NodeArena::deallocate(memory);
            throw;
        }
        auto* node = ::new (memory) QueueNode(&destroy_node, name_size);
        node->payload = place;
        return node;
    }

    static void destroy_node(QueueNode* node) noexcept {
        static_cast<const T*>(node->payload)->~T();
        node->~QueueNode();
        NodeArena::deallocate(node);
    }

private:
    static constexpr std::size_t payload_offset(std::size_t name_size) noexcept {
        const std::size_t a = alignof(T) < 16 ? alignof(T) : 16;
        return (sizeof(QueueNode) + name_size + a - 1) / a * a;
    }
    static void* align_up(char* p) noexcept {
        const auto address = reinterpret_cast<std::uintptr_t>(p);
        const std::uintptr_t a = alignof(T);
        return p + ((a - address % a) % a);
    }
};

/// Builds the publish's node on first need: moves the payload in when the publisher gave an
/// rvalue, copies it once otherwise, and points the delivery at the node's payload so every
/// later receiver of this publish (inline or queued) shares it.
template <class T>
QueueNode* make_queue_node(Delivery& d) {
    QueueNode* node = nullptr;
    if (d.movable_payload != nullptr) {
        node = TypedQueueNode<T>::create(d.channel, std::move(*static_cast<T*>(d.movable_payload)));
        d.movable_payload = nullptr;
    } else if constexpr (std::is_copy_constructible_v<T>) {
        node = TypedQueueNode<T>::create(d.channel, *static_cast<const T*>(d.payload));
    } else {
        // Unreachable: a move-only payload can only be published as an rvalue (Broker's lvalue
        // overloads refuse it at compile time), so it is always movable here.
        std::terminate();
    }
    // The clock is read only for receivers of the envelope (see QueuedCore::offer).
    if (d.has_time) {
        node->published_at = d.published_at;
    }
    d.payload = node->payload;
    d.node = node;
    return node;
}

struct QueueItem {
    QueueNode* node = nullptr;
    std::uint64_t sequence = 0;
};

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

    bool try_push(const QueueItem& item) noexcept {
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

    bool try_pop(QueueItem& out) noexcept {
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
        QueueItem item;
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

/// Latest message per channel, in the order of their latest publishes. Not lock-free: the
/// conflating case (dashboards, presence) is about freshness, not throughput.
class ConflatingStore {
public:
    explicit ConflatingStore(std::size_t capacity) : capacity_(capacity) {}
    ConflatingStore(const ConflatingStore&) = delete;
    ConflatingStore& operator=(const ConflatingStore&) = delete;
    ~ConflatingStore() {
        for (QueueItem& it : order_) {
            it.node->release();
        }
    }

    struct PushResult {
        bool replaced = false; // an older message of the same channel was dropped
        bool evicted = false;  // full: the oldest pending channel was dropped
    };

    PushResult push(const QueueItem& item) {
        PushResult result;
        std::lock_guard lock(mutex_);
        const std::string_view key = item.node->channel();
        if (auto found = index_.find(key); found != index_.end()) {
            QueueNode* old = found->second->node;
            order_.erase(found->second);
            index_.erase(found);
            old->release();
            result.replaced = true;
        } else if (order_.size() >= capacity_) {
            QueueItem oldest = order_.front();
            index_.erase(std::string_view(oldest.node->channel()));
            order_.pop_front();
            oldest.node->release();
            result.evicted = true;
        }
        order_.push_back(item);
        index_.emplace(std::string_view(order_.back().node->channel()), std::prev(order_.end()));
        return result;
    }

    bool try_pop(QueueItem& out) {
        std::lock_guard lock(mutex_);
        if (order_.empty()) {
            return false;
        }
        out = order_.front();
        index_.erase(std::string_view(out.node->channel()));
        order_.pop_front();
        return true;
    }

    std::size_t size() const {
        std::lock_guard lock(mutex_);
        return order_.size();
    }

private:
    const std::size_t capacity_;
    mutable std::mutex mutex_;
    std::list<QueueItem> order_;
    std::unordered_map<std::string_view, std::list<QueueItem>::iterator> index_;
};

class WorkerPool;

/// A spin-wait hint to the processor.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

/// Which queued subscription, if any, the current thread is consuming (so a `block` publisher
/// never waits for a queue only it could drain).
inline const void*& consuming_now() noexcept {
    thread_local const void* current = nullptr;
    return current;
}

/// The state shared by every queued subscription, whatever its payload and handler.
struct QueuedCore : SubscriptionCore {
    using RunFn = bool (*)(QueuedCore&, const QueueItem&); // false: the handler threw

    QueuedCore(RunFn run_fn, DestroyFn drop_handler_fn, DestroyFn destroy_fn,
               const TypeKey& payload_type, bool envelope, queued opts, bool concurrent_broker)
        : SubscriptionCore(own_ops, envelope), own_ops{&deliver_queued, drop_handler_fn, destroy_fn,
                                                       &payload_type, &queued_hooks()},
          options(std::move(opts)), run(run_fn), concurrent(concurrent_broker) {
        if (options.capacity == 0) {
            throw queue_options_error(
                "herald: queued{.capacity = 0} is invalid: a queue needs room for at least one "
                "message (there is no unbounded queue)");
        }
        if (options.overflow == Overflow::conflate) {
            conflated.emplace(options.capacity);
        } else {
            ring.emplace(options.capacity);
        }
    }

    QueuedCore(const QueuedCore&) = delete;
    QueuedCore& operator=(const QueuedCore&) = delete;
    ~QueuedCore() { discard_all(); } // the last reference: nothing can consume any more

    // ---- producer side --------------------------------------------------------------------

    static bool deliver_queued(SubscriptionCore& base, Delivery& d) {
        return static_cast<QueuedCore&>(base).offer(d);
    }

    bool offer(Delivery& d) {
        if (d.node == nullptr) {
            d.ops->make_node(d);
        }
        if (wants_envelope && d.node->published_at == std::chrono::system_clock::time_point{}) {
            // The first receiver of this publish that wants the envelope: stamp the shared
            // node before it is visible to this queue's consumer. Queues filled earlier in
            // this publish never read the time (their subscribers take the bare payload).
            d.stamp_time();
            d.node->published_at = d.published_at;
        }
        QueueItem item{d.node, d.sequence};
        item.node->add_ref();
        bool accepted = true;
        bool overflowed = false;
        switch (options.overflow) {
        case Overflow::drop_newest:
            accepted = ring->try_push(item);
            if (!accepted) {
                drops_newest.fetch_add(1, std::memory_order_relaxed);
            }
            break;
        case Overflow::drop_oldest:
            while (!ring->try_push(item)) {
                QueueItem victim;
                if (ring->try_pop(victim)) {
                    victim.node->release();
                    drops_oldest.fetch_add(1, std::memory_order_relaxed);
                    overflowed = true;
                }
            }
            break;
        case Overflow::conflate: {
            const auto r = conflated->push(item);
            if (r.replaced) {
                drops_conflated.fetch_add(1, std::memory_order_relaxed);
            }
            if (r.evicted) {
                drops_oldest.fetch_add(1, std::memory_order_relaxed);
                overflowed = true;
            }
            break;
        }
        case Overflow::block:
            accepted = push_blocking(item);
            if (!accepted) {
                drops_timed_out.fetch_add(1, std::memory_order_relaxed);
            }
            break;
        case Overflow::disconnect:
            accepted = ring->try_push(item);
            if (!accepted) {
                drops_disconnected.fetch_add(1, std::memory_order_relaxed);
                item.node->release();
                slow_consumer(d);
                disconnect_now(d);
                return false;
            }
            break;
        }
        if (!accepted) {
            item.node->release();
            overflowed = true;
        }
        if (overflowed) {
            note_high_water(options.capacity);
            slow_consumer(d);
        }
        if (accepted) {
            wake_consumer();
        }
        return accepted;
    }

    bool push_blocking(const QueueItem& item) {
        if (ring->try_push(item)) {
            return true;
        }
        if (consuming_now() == this) {
            return false; // only this thread could make room: waiting would only time out
        }
        const auto deadline = std::chrono::steady_clock::now() + options.block_timeout;
        unsigned attempt = 0;
        while (!ring->try_push(item)) {
            if (!is_active() || std::chrono::steady_clock::now() >= deadline) {
                return false;
            }
            if (++attempt < 64) {
                std::this_thread::yield();
            } else {
                std::this_thread::sleep_for(std::chrono::microseconds(20));
            }
        }
        return true;
    }

    void slow_consumer(const Delivery& d) noexcept {
        if (in_episode.exchange(true, std::memory_order_acq_rel)) {
            return; // edge-triggered: once per overflow episode
        }
        episodes.fetch_add(1, std::memory_order_relaxed);
        if (options.on_slow_consumer) {
            try {
                options.on_slow_consumer(
                    SlowConsumer{id, d.channel, options.overflow, options.capacity});
            } catch (...) {
                // A throwing callback must not break the publisher.
            }
        }
    }

    void disconnect_now(Delivery& d) {
        if (d.broker != nullptr) {
            d.broker->disconnect(*this, d.channel);
        }
    }

    /// Called after an accepted push: wakes whoever consumes this queue.
    void wake_consumer() {
        // Pairs with the heavy fence in finish_turn()/wait_until_ready(): either the consumer
        // sees the new item, or this thread sees that nobody holds the consumer turn / a
        // waiter. The producer's side is the cheap one: it runs once per message, the
        // consumer's only when it is about to stop.
        AsymmetricFence::light();
        if (options.executor.is_polled()) {
            if (waiters.load(std::memory_order_relaxed) != 0) {
                std::lock_guard lock(wait_mutex);
                wait_cv.notify_all();
            }
            return;
        }
        std::uint8_t expected = idle;
        if (turn.load(std::memory_order_relaxed) == idle &&
            turn.compare_exchange_strong(expected, scheduled, std::memory_order_acq_rel)) {
            schedule();
        }
    }

    void schedule();
    bool others_waiting() const noexcept;

    // ---- consumer side --------------------------------------------------------------------

    bool pop(QueueItem& out) { return ring ? ring->try_pop(out) : conflated->try_pop(out); }
    std::size_t size() const { return ring ? ring->size() : conflated->size(); }

    /// Runs up to `max` queued messages on this thread. The caller holds the turn.
    std::size_t drain(std::size_t max) {
        note_high_water(size());
        const void* previous = std::exchange(consuming_now(), this);
        std::size_t n = 0;
        QueueItem item;
        while (n < max && pop(item)) {
            ++n;
            invoke(item);
        }
        consuming_now() = previous;
        if (in_episode.load(std::memory_order_relaxed) && size() == 0) {
            in_episode.store(false, std::memory_order_release);
        }
        return n;
    }

    void invoke(const QueueItem& item) {
        if (concurrent) {
            // The invocation is a dispatch like an inline one: unsubscribe waits for it.
            EpochDomain& domain = EpochDomain::instance();
            ThreadRecord& record = this_thread_record(domain);
            if (record.depth >= max_dispatch_depth) [[unlikely]] {
                refuse_too_deep(item);
            } else {
                CriticalSection section(domain, record);
                DispatchSlot slot(record, this);
                invoke_checked(item);
            }
        } else {
            invoke_checked(item);
        }
        item.node->release();
    }

    /// This thread (polling, or running an executor's task, from inside nested handlers) has
    /// no dispatch level left to record the invocation in, so unsubscribe could not wait for
    /// it: refused like a publish nested too deep, counted and reported as the handler's error.
    [[gnu::noinline]] void refuse_too_deep(const QueueItem& item) {
        std::shared_ptr<BrokerImplBase> holder = broker.lock();
        if (!holder) {
            errors.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        Delivery d;
        d.kind = pattern_subscription ? MessageKind::pmessage : MessageKind::message;
        d.pattern = pattern_text;
        d.channel = item.node->channel();
        d.payload = item.node->payload;
        d.broker = holder.get(); // no payload ops: no dead letter for a message never handled
        try {
            throw dispatch_depth_error(item.node->channel(), max_dispatch_depth);
        } catch (...) {
            holder->handler_failed(*this, d);
        }
    }

    void invoke_checked(const QueueItem& item) {
        if (!is_active()) {
            // Taken off the queue before the end was seen: the unsubscribe may already have
            // added this subscription's drops to the broker's total, so the broker counts it.
            if (std::shared_ptr<BrokerImplBase> holder = broker.lock()) {
                holder->discarded_after_end(*this);
            } else {
                drops_discarded.fetch_add(1, std::memory_order_relaxed);
            }
            return;
        }
        std::shared_ptr<BrokerImplBase> holder;
        if (!concurrent) {
            // A single-threaded broker frees what a handler retires only once it returns.
            holder = broker.lock();
            if (holder) {
                holder->begin_callback();
            }
        }
        struct End {
            BrokerImplBase* b;
            ~End() {
                if (b != nullptr) {
                    b->end_callback();
                }
            }
        } end{holder.get()};
        if (run(*this, item)) {
            delivered.store(delivered.load(std::memory_order_relaxed) + 1,
                            std::memory_order_relaxed); // one consumer at a time
        }
    }

    /// Task body on the workers or a user executor. Does nothing if the turn was taken over
    /// (by a shutdown) while the task waited to run.
    void run_turn(bool spin) {
        std::uint8_t expected = scheduled;
        if (!turn.compare_exchange_strong(expected, running, std::memory_order_acq_rel)) {
            return;
        }
        std::size_t streak = 0; // messages handled in this turn
        for (;;) {
            const std::size_t n = drain(batch);
            streak += n;
            if (n == batch) {
                if (!others_waiting()) {
                    continue; // nobody else needs this thread: no hand-over per batch
                }
                // Keep the turn, but let other subscriptions on the same threads run.
                turn.store(scheduled, std::memory_order_release);
                schedule();
                return;
            }
            if (spin) {
                const Waited waited = spin_for_work(streak >= busy_streak);
                if (waited == Waited::long_wait) {
                    // A gap the short spin did not cover: count afresh, so that a slow steady
                    // stream, after one burst, parks between messages again.
                    streak = 0;
                }
                if (waited != Waited::in_vain) {
                    continue;
                }
            }
            if (!finish_turn()) {
                return;
            }
        }
    }

    /// Gives the turn back; true if work arrived meanwhile and the turn was taken back.
    bool finish_turn() {
        turn.store(idle, std::memory_order_seq_cst);
        AsymmetricFence::heavy();
        if (size() == 0) {
            return false;
        }
        std::uint8_t expected = idle;
        return turn.compare_exchange_strong(expected, running, std::memory_order_acq_rel);
    }

    /// Takes the turn for good (shutdown): waits for a running consumer to finish and takes
    /// over a scheduled one that has not started. Never returns it.
    void seize_turn() {
        for (;;) {
            std::uint8_t expected = turn.load(std::memory_order_acquire);
            if (expected != running &&
                turn.compare_exchange_weak(expected, running, std::memory_order_acq_rel)) {
                return;
            }
            std::this_thread::yield();
        }
    }

    /// Waits a little for more work before giving the turn back: cheaper than a wake-up when
    /// messages come close together. Short (spinning) after a quiet turn: at 100 k msg/s a
    /// 20 µs spin kept the consumer from ever sleeping, and on a busy machine the thread that
    /// never sleeps is the one preempted (W4 latency p50 7.7 µs with it, 2.8 µs with 2 µs).
    /// Longer (yielding, so a publisher on the same core still runs) after a busy one, where
    /// a short spin parked and was woken again thousands of times per million messages. Not
    /// for a slow stream: a consumer that never sleeps is preempted for whole scheduler ticks
    /// on a busy machine (W4 latency p99 of 4 ms when a burst left it yielding for good).
    enum class Waited : std::uint8_t { in_vain, short_wait, long_wait };
    Waited spin_for_work(bool busy) const {
        auto now = std::chrono::steady_clock::now();
        const auto until = now + spin_before_parking;
        do {
            for (int i = 0; i < 64; ++i) {
                if (size() != 0) {
                    return Waited::short_wait;
                }
                cpu_relax(); // fewer reads of the producers' cursor while it is being written
            }
            if (others_waiting()) {
                return Waited::in_vain; // another subscription needs this thread more
            }
            now = std::chrono::steady_clock::now();
        } while (now < until);
        if (busy) {
            const auto yield_until = now + yield_before_parking;
            do {
                std::this_thread::yield();
                if (size() != 0) {
                    return Waited::long_wait;
                }
            } while (!others_waiting() && std::chrono::steady_clock::now() < yield_until);
        }
        return Waited::in_vain;
    }

    /// poll()/drain()/wait_for() on the subscriber's own thread.
    std::size_t pump(std::size_t max, std::chrono::nanoseconds wait) {
        std::uint8_t expected = idle;
        if (!turn.compare_exchange_strong(expected, running, std::memory_order_acq_rel)) {
            return 0; // another thread is running this handler (never concurrently)
        }
        std::size_t n = drain(max);
        if (n == 0 && wait > std::chrono::nanoseconds::zero()) {
            wait_until_ready(std::chrono::steady_clock::now() + wait);
            n = drain(max);
        }
        turn.store(idle, std::memory_order_release);
        return n;
    }

    /// Blocks until something is queued, the subscription ends, or `deadline`.
    void wait_until_ready(std::chrono::steady_clock::time_point deadline) {
        std::unique_lock lock(wait_mutex);
        waiters.fetch_add(1, std::memory_order_seq_cst);
        AsymmetricFence::heavy();
        const auto ready = [&] { return size() != 0 || !is_active(); };
        if (deadline == std::chrono::steady_clock::time_point::max()) {
            wait_cv.wait(lock, ready);
        } else {
            wait_cv.wait_until(lock, deadline, ready);
        }
        waiters.fetch_sub(1, std::memory_order_relaxed);
    }

    void wake_waiters() {
        std::lock_guard lock(wait_mutex);
        wait_cv.notify_all();
    }

    /// Drops everything queued, counted as `discarded`.
    void discard_all() {
        QueueItem item;
        while (pop(item)) {
            item.node->release();
            drops_discarded.fetch_add(1, std::memory_order_relaxed);
        }
    }

    void note_high_water(std::size_t n) noexcept {
        std::uint64_t seen = high_water.load(std::memory_order_relaxed);
        while (n > seen && !high_water.compare_exchange_weak(seen, n, std::memory_order_relaxed)) {
        }
    }

    // ---- hooks used through SubscriptionCore::queue --------------------------------------

    static void fill_stats(const SubscriptionCore& base, SubscriptionStats& s) {
        const auto& self = static_cast<const QueuedCore&>(base);
        s.delivered = self.delivered.load(std::memory_order_relaxed);
        s.drops.newest = self.drops_newest.load(std::memory_order_relaxed);
        s.drops.oldest = self.drops_oldest.load(std::memory_order_relaxed);
        s.drops.conflated = self.drops_conflated.load(std::memory_order_relaxed);
        s.drops.timed_out = self.drops_timed_out.load(std::memory_order_relaxed);
        s.drops.disconnected = self.drops_disconnected.load(std::memory_order_relaxed);
        s.drops.discarded = self.drops_discarded.load(std::memory_order_relaxed);
        s.dropped = s.drops.total();
        s.queued = self.size();
        s.high_water = self.high_water.load(std::memory_order_relaxed);
    }
    static std::size_t pump_hook(SubscriptionCore& base, std::size_t max,
                                 std::chrono::nanoseconds wait) {
        auto& self = static_cast<QueuedCore&>(base);
        if (!self.options.executor.is_polled() || self.run == nullptr) {
            return 0;
        }
        return self.pump(max, wait);
    }
    /// The subscription ended (unsubscribe, disconnect): its queue is discarded and waiters
    /// woken. A mailbox keeps what is queued when the broker shuts down draining.
    static void cancelled_hook(SubscriptionCore& base, bool discard) {
        auto& self = static_cast<QueuedCore&>(base);
        if (discard) {
            self.discard_all();
        }
        self.wake_waiters();
    }

    static constexpr std::size_t batch = 256;
    static constexpr std::chrono::microseconds spin_before_parking{2};
    static constexpr std::chrono::microseconds yield_before_parking{50};
    static constexpr std::size_t busy_streak = 64; // messages in a turn that make it busy
    static const QueueHooks& queued_hooks() noexcept {
        static constexpr QueueHooks hooks{&fill_stats, &pump_hook, &cancelled_hook};
        return hooks;
    }

    CoreOps own_ops; // the subscription's operations (queued types build them at run time)
    queued options;
    RunFn run; // null for a mailbox (no handler)
    bool concurrent;
    std::string pattern_text; // for pattern subscriptions: Message::pattern
    std::optional<BoundedRing> ring;
    std::optional<ConflatingStore> conflated;
    WorkerPool* pool = nullptr;

    // Who may consume: nobody (idle), a submitted task (scheduled), or the one thread
    // draining now (running): a task, a poll call or a shutdown. Producers read `turn` and
    // `waiters` on every message and the consumer writes them only when it starts or stops,
    // so they get a cache line of their own, away from the counters written per message.
    static constexpr std::uint8_t idle = 0, scheduled = 1, running = 2;
    alignas(64) std::atomic<std::uint8_t> turn{idle};
    std::atomic<std::uint32_t> waiters{0};

    // Written by the consumer on every message.
    alignas(64) std::atomic<std::uint64_t> delivered{0};

    // Written on overflow (by producers) and at the end of a drain.
    alignas(64) std::atomic<bool> in_episode{false};
    bool drops_folded = false; // its drops are in the broker's total (broker lock)
    std::atomic<std::uint64_t> episodes{0};
    std::atomic<std::uint64_t> drops_newest{0}, drops_oldest{0}, drops_conflated{0},
        drops_timed_out{0}, drops_disconnected{0}, drops_discarded{0};
    std::atomic<std::uint64_t> high_water{0};

    std::mutex wait_mutex;
    std::condition_variable wait_cv;
};

/// The broker's own threads for queued subscriptions on the default executor.
class WorkerPool {
public:
    explicit WorkerPool(std::size_t threads) {
        workers_.reserve(threads);
        for (std::size_t i = 0; i < threads; ++i) {
            workers_.emplace_back([this] { work(); });
        }
    }
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;
    ~WorkerPool() { stop(); }

    /// Queues `core` (holding the turn) to be drained. Takes a reference for the task.
    void submit(QueuedCore* core) {
        core->add_ref();
        {
            std::lock_guard lock(mutex_);
            ready_.push_back(core);
            waiting_.store(ready_.size(), std::memory_order_relaxed);
        }
        cv_.notify_one();
    }

    /// Some subscription waits for a thread (a hint: read without the lock).
    bool has_waiting() const noexcept { return waiting_.load(std::memory_order_relaxed) != 0; }

    /// Finishes what is queued and joins the threads. Idempotent.
    void stop() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        cv_.notify_all();
        for (auto& t : workers_) {
            if (t.joinable()) {
                t.join();
            }
        }
        workers_.clear();
    }

    bool runs_on_this_thread() const noexcept {
        for (const auto& t : workers_) {
            if (t.get_id() == std::this_thread::get_id()) {
                return true;
            }
        }
        return false;
    }

private:
    void work() {
        for (;;) {
            QueuedCore* core = nullptr;
            {
                std::unique_lock lock(mutex_);
                cv_.wait(lock, [&] { return stopping_ || !ready_.empty(); });
                if (ready_.empty()) {
                    return; // stopping and nothing left
                }
                core = ready_.front();
                ready_.pop_front();
                waiting_.store(ready_.size(), std::memory_order_relaxed);
            }
            core->run_turn(true);
            core->release();
        }
    }

    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<QueuedCore*> ready_;
    std::atomic<std::size_t> waiting_{0}; // ready_.size(), for has_waiting()
    bool stopping_ = false;
    std::vector<std::thread> workers_;
};

inline bool QueuedCore::others_waiting() const noexcept {
    // A user executor's queue cannot be seen: hand the turn over after every batch there.
    return !options.executor.is_workers() || pool->has_waiting();
}

inline void QueuedCore::schedule() {
    if (options.executor.is_workers()) {
        pool->submit(this);
        return;
    }
    add_ref(); // released by the task
    options.executor.submit([this] {
        run_turn(false);
        release();
    });
}

} // namespace detail
HERALD_NAMESPACE_END
