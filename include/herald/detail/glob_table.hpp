#pragma once
// The glob tables of PatternIndex: `GlobTable`, an open-addressing table of glob entries keyed by
// a view of each entry's own text (PatternIndex keeps two: literal prefix to the chain of globs
// that have it, and glob text to its entry), and the hashes it is probed with (`prefix_hash`,
// FNV-1a, so one pass over a subject hashes each of its prefixes; `text_hash`). It owns its slot
// array, not the entries.

#include <herald/version.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <string_view>
#include <utility>

HERALD_NAMESPACE_BEGIN
namespace detail {

// FNV-1a: computed byte by byte, so one pass over a subject yields the hash of every prefix.
inline constexpr std::size_t fnv_offset = sizeof(std::size_t) == 8
                                              ? static_cast<std::size_t>(14695981039346656037ULL)
                                              : static_cast<std::size_t>(2166136261U);
inline constexpr std::size_t fnv_prime = sizeof(std::size_t) == 8
                                             ? static_cast<std::size_t>(1099511628211ULL)
                                             : static_cast<std::size_t>(16777619U);
constexpr std::size_t fnv_step(std::size_t h, char c) noexcept {
    return (h ^ static_cast<unsigned char>(c)) * fnv_prime;
}

inline std::size_t prefix_hash(std::string_view s) noexcept {
    std::size_t h = fnv_offset;
    for (const char c : s) {
        h = fnv_step(h, c);
    }
    return h;
}
inline std::size_t text_hash(std::string_view s) noexcept {
    return std::hash<std::string_view>{}(s);
}

// An open-addressing hash table (linear probing, at most MaxLoad percent full) of glob
// pointers, keyed by a view of the glob's own text (KeyOf::key), so that the key is not stored
// at all: a slot is 16 bytes and a probe that misses touches one cache line. It owns nothing.
template <class Entry, class KeyOf, std::size_t MaxLoad>
class GlobTable {
public:
    struct Slot {
        std::size_t hash;
        Entry* entry; // null for an empty slot
    };

    GlobTable() = default;
    GlobTable(GlobTable&& other) noexcept
        : slots_(std::move(other.slots_)), capacity_(std::exchange(other.capacity_, 0)),
          count_(std::exchange(other.count_, 0)) {}
    GlobTable& operator=(GlobTable&& other) noexcept {
        slots_ = std::move(other.slots_);
        capacity_ = std::exchange(other.capacity_, 0);
        count_ = std::exchange(other.count_, 0);
        return *this;
    }

    /// The slot whose key is `key` (with hash `hash`), or null.
    Slot* find(std::string_view key, std::size_t hash) const noexcept {
        if (count_ == 0) {
            return nullptr;
        }
        for (std::size_t i = home(hash);; i = (i + 1) & (capacity_ - 1)) {
            Slot& slot = slots_[i];
            if (slot.entry == nullptr) {
                return nullptr;
            }
            if (slot.hash == hash && KeyOf::key(slot.entry) == key) {
                return &slot;
            }
        }
    }

    /// Makes room for one more entry, so that the next insert cannot fail.
    void reserve_one() {
        if ((count_ + 1) * 100 > capacity_ * MaxLoad) {
            grow(capacity_ == 0 ? 16 : capacity_ * 2);
        }
    }

    /// Adds an entry whose key is not in the table yet (after reserve_one).
    void insert(std::size_t hash, Entry* entry) noexcept {
        std::size_t i = home(hash);
        while (slots_[i].entry != nullptr) {
            i = (i + 1) & (capacity_ - 1);
        }
        slots_[i] = Slot{hash, entry};
        ++count_;
    }

    /// Empties `slot`, keeping every probe sequence unbroken (backward-shift deletion).
    void erase(Slot* slot) noexcept {
        std::size_t hole = static_cast<std::size_t>(slot - slots_.get());
        slots_[hole].entry = nullptr;
        --count_;
        for (std::size_t i = (hole + 1) & (capacity_ - 1); slots_[i].entry != nullptr;
             i = (i + 1) & (capacity_ - 1)) {
            const std::size_t want = home(slots_[i].hash);
            // Slot i may stay only if its home lies cyclically in (hole, i].
            const bool stays = hole <= i ? (hole < want && want <= i) : (hole < want || want <= i);
            if (!stays) {
                slots_[hole] = slots_[i];
                slots_[i].entry = nullptr;
                hole = i;
            }
        }
    }

    void clear() noexcept {
        for (std::size_t i = 0; i < capacity_; ++i) {
            slots_[i].entry = nullptr;
        }
        count_ = 0;
    }

    template <class F>
    void for_each(F&& f) const {
        for (std::size_t i = 0; i < capacity_; ++i) {
            if (slots_[i].entry != nullptr) {
                f(slots_[i].entry);
            }
        }
    }
    template <class F>
    void for_each_hash(F&& f) const {
        for (std::size_t i = 0; i < capacity_; ++i) {
            if (slots_[i].entry != nullptr) {
                f(slots_[i].hash);
            }
        }
    }

    std::size_t size() const noexcept { return count_; }
    std::size_t capacity() const noexcept { return capacity_; }

private:
    std::size_t home(std::size_t hash) const noexcept {
        // Fibonacci hashing spreads FNV's weaker low bits over the table.
        return static_cast<std::size_t>((hash * 0x9e3779b97f4a7c15ULL) >> 17) & (capacity_ - 1);
    }

    void grow(std::size_t capacity) {
        std::unique_ptr<Slot[]> old = std::exchange(slots_, std::make_unique<Slot[]>(capacity));
        const std::size_t old_capacity = std::exchange(capacity_, capacity);
        count_ = 0;
        for (std::size_t i = 0; i < old_capacity; ++i) {
            if (old[i].entry != nullptr) {
                insert(old[i].hash, old[i].entry);
            }
        }
    }

    std::unique_ptr<Slot[]> slots_; // value-initialised: every slot starts empty
    std::size_t capacity_ = 0;      // a power of two, or 0
    std::size_t count_ = 0;
};

} // namespace detail
HERALD_NAMESPACE_END
