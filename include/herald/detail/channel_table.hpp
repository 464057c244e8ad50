#pragma once
// An open-addressing hash table from channel name to a node, read without locks.
//
// Readers (publish) probe a table published through an atomic pointer; writers hold the
// broker's lock. Slots only ever go empty -> node -> tombstone, so a reader probing a stale
// view never misses a node that was present when it started and never reads a freed node
// (erased nodes and replaced tables are retired by the caller's reclamation scheme). When
// tombstones and nodes fill half the table it is rebuilt into a fresh one; when erasures leave it
// mostly empty it is rebuilt smaller (the memory of a past peak is given back).

#include <herald/detail/platform.hpp>
#include <herald/version.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <string_view>

HERALD_NAMESPACE_BEGIN
namespace detail {

/// Node must expose `std::string_view key() const` and `std::size_t hash() const`.
template <class Node>
class ChannelTable {
public:
    struct Table {
        std::size_t mask;
        std::atomic<Node*>* slots() noexcept {
            return reinterpret_cast<std::atomic<Node*>*>(reinterpret_cast<char*>(this) + header);
        }
        const std::atomic<Node*>* slots() const noexcept {
            return reinterpret_cast<const std::atomic<Node*>*>(reinterpret_cast<const char*>(this) +
                                                               header);
        }
        static constexpr std::size_t header =
            (sizeof(std::size_t) + alignof(std::atomic<Node*>) - 1) / alignof(std::atomic<Node*>) *
            alignof(std::atomic<Node*>);

        static Table* create(std::size_t capacity) {
            void* memory = ::operator new(header + capacity * sizeof(std::atomic<Node*>));
            auto* t = ::new (memory) Table{capacity - 1};
            for (std::size_t i = 0; i < capacity; ++i) {
                ::new (&t->slots()[i]) std::atomic<Node*>(nullptr);
            }
            return t;
        }
        static void destroy(void* p) noexcept {
            auto* t = static_cast<Table*>(p);
            t->~Table();
            ::operator delete(p);
        }
    };

    ChannelTable() : table_(Table::create(initial_capacity)) {}
    ChannelTable(const ChannelTable&) = delete;
    ChannelTable& operator=(const ChannelTable&) = delete;
    ~ChannelTable() { Table::destroy(table_.load(std::memory_order_relaxed)); }

    /// Lock-free lookup. The caller is inside a read-side critical section (or holds the lock).
    /// Inlined: it is on every publish, and GCC's budget otherwise drops it from the
    /// single_threaded path first (20 instructions per publish there).
    HERALD_ALWAYS_INLINE Node* find(std::string_view key, std::size_t hash) const noexcept {
        const Table* t = table_.load(std::memory_order_acquire);
        const std::atomic<Node*>* slots = t->slots();
        for (std::size_t i = hash & t->mask;; i = (i + 1) & t->mask) {
            Node* n = slots[i].load(std::memory_order_acquire);
            if (n == nullptr) {
                return nullptr;
            }
            if (n != tombstone() && n->hash() == hash && n->key() == key) {
                return n;
            }
        }
    }

    /// Inserts a node whose key is absent. Writer lock held. `retire_table(ptr, destroy)`
    /// receives a table replaced by a rebuild.
    template <class Retire>
    void insert(Node* node, Retire&& retire_table) {
        if ((used_ + tombstones_ + 1) * 2 > capacity()) {
            rebuild(std::forward<Retire>(retire_table));
        }
        Table* t = table_.load(std::memory_order_relaxed);
        std::atomic<Node*>* slots = t->slots();
        for (std::size_t i = node->hash() & t->mask;; i = (i + 1) & t->mask) {
            Node* n = slots[i].load(std::memory_order_relaxed);
            if (n == nullptr) {
                slots[i].store(node, std::memory_order_release);
                ++used_;
                return;
            }
        }
    }

    /// Removes a present node. Writer lock held. The caller retires the node itself.
    void erase(Node* node) noexcept {
        Table* t = table_.load(std::memory_order_relaxed);
        std::atomic<Node*>* slots = t->slots();
        for (std::size_t i = node->hash() & t->mask;; i = (i + 1) & t->mask) {
            if (slots[i].load(std::memory_order_relaxed) == node) {
                slots[i].store(tombstone(), std::memory_order_release);
                --used_;
                ++tombstones_;
                return;
            }
        }
    }

    /// Removes a present node (its slot becomes a tombstone), then gives memory back once the table
    /// is mostly empty: it is rebuilt smaller and `retire_table(ptr, destroy)` receives the old
    /// one, so a table that once held a million channels does not keep their slots forever. Writer
    /// lock held. Never throws: without memory for the smaller table, the larger one stays.
    template <class Retire>
    void erase(Node* node, Retire&& retire_table) noexcept {
        erase(node);
        if (capacity() > initial_capacity && used_ * 8 < capacity()) {
            try {
                rebuild(std::forward<Retire>(retire_table));
            } catch (...) {
                // Shrinking is an optimisation; the current table stays valid.
            }
        }
    }

    std::size_t size() const noexcept { return used_; }
    std::size_t capacity() const noexcept {
        return table_.load(std::memory_order_relaxed)->mask + 1;
    }

    /// Calls f(Node*) for every node. Writer lock held.
    template <class F>
    void for_each(F&& f) const {
        const Table* t = table_.load(std::memory_order_relaxed);
        const std::atomic<Node*>* slots = t->slots();
        for (std::size_t i = 0; i <= t->mask; ++i) {
            Node* n = slots[i].load(std::memory_order_relaxed);
            if (n != nullptr && n != tombstone()) {
                f(n);
            }
        }
    }

    /// Bytes held by the table itself (not the nodes).
    std::size_t memory_bytes() const noexcept {
        return Table::header + capacity() * sizeof(std::atomic<Node*>);
    }

private:
    static constexpr std::size_t initial_capacity = 16;

    static Node* tombstone() noexcept {
        alignas(Node) static char marker[1];
        return reinterpret_cast<Node*>(&marker);
    }

    template <class Retire>
    void rebuild(Retire&& retire_table) {
        std::size_t capacity = initial_capacity;
        while (capacity < (used_ + 1) * 4) {
            capacity *= 2;
        }
        Table* fresh = Table::create(capacity);
        Table* old = table_.load(std::memory_order_relaxed);
        std::atomic<Node*>* from = old->slots();
        std::atomic<Node*>* to = fresh->slots();
        for (std::size_t i = 0; i <= old->mask; ++i) {
            Node* n = from[i].load(std::memory_order_relaxed);
            if (n == nullptr || n == tombstone()) {
                continue;
            }
            for (std::size_t j = n->hash() & fresh->mask;; j = (j + 1) & fresh->mask) {
                if (to[j].load(std::memory_order_relaxed) == nullptr) {
                    to[j].store(n, std::memory_order_relaxed);
                    break;
                }
            }
        }
        tombstones_ = 0;
        table_.store(fresh, std::memory_order_release);
        retire_table(static_cast<void*>(old), &Table::destroy);
    }

    std::atomic<Table*> table_;
    std::size_t used_ = 0;
    std::size_t tombstones_ = 0;
};

} // namespace detail
HERALD_NAMESPACE_END
