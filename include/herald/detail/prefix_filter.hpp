#pragma once
// The Bloom filter of PatternIndex's glob matching: `PrefixFilter`, over the literal prefixes
// that have a chain in the prefix table, asked before each probe of that table. It owns its bit
// words; the table it is sized for and rebuilt from is the caller's.

#include <herald/version.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

HERALD_NAMESPACE_BEGIN
namespace detail {

// A Bloom filter over the literal prefixes that have a chain (two bits in one 64-bit word per
// prefix, ten or more bits per prefix). A subject is probed at every prefix length in use and
// most of those prefixes have no chain: the filter, small enough to stay in cache, answers
// that instead of a random slot of the chain table, which 100,000 globs push out of cache.
// Erased prefixes leave their bits set until the filter is rebuilt, which happens when the
// chain table grows and after enough erasures.
class PrefixFilter {
public:
    PrefixFilter() = default;
    PrefixFilter(PrefixFilter&& other) noexcept
        : words_(std::move(other.words_)), count_(std::exchange(other.count_, 0)),
          stale_(std::exchange(other.stale_, 0)) {}
    PrefixFilter& operator=(PrefixFilter&& other) noexcept {
        words_ = std::move(other.words_);
        count_ = std::exchange(other.count_, 0);
        stale_ = std::exchange(other.stale_, 0);
        return *this;
    }

    /// False only if no prefix with this hash was added since the last rebuild.
    bool may_contain(std::size_t hash) const noexcept {
        if (count_ == 0) {
            return true;
        }
        const std::uint64_t h = mix(hash);
        const std::uint64_t bits = bits_of(h);
        return (words_[h & (count_ - 1)] & bits) == bits;
    }

    /// Sizes the filter for the capacity of `chains` and rebuilds it if that changed.
    template <class Table>
    void fit(const Table& chains) {
        const std::size_t count = std::max<std::size_t>(1, chains.capacity() / 8);
        if (count != count_) {
            words_ = std::make_unique<std::uint64_t[]>(count);
            count_ = count;
            rebuild(chains);
        }
    }

    /// Adds a prefix (after fit).
    void add(std::size_t hash) noexcept {
        const std::uint64_t h = mix(hash);
        words_[h & (count_ - 1)] |= bits_of(h);
    }

    /// A prefix of `chains` was removed: rebuild once stale bits could make up a fair share.
    template <class Table>
    void removed(const Table& chains) noexcept {
        // A rebuild reads every slot of the table: after at least capacity / 2 erasures.
        if (++stale_ > std::max(chains.size(), count_ * 4)) {
            rebuild(chains);
        }
    }

    void clear() noexcept {
        std::fill_n(words_.get(), count_, std::uint64_t{0});
        stale_ = 0;
    }

private:
    static std::uint64_t mix(std::size_t hash) noexcept {
        std::uint64_t h = static_cast<std::uint64_t>(hash);
        h = (h ^ (h >> 29)) * 0xbf58476d1ce4e5b9ULL;
        return h ^ (h >> 32);
    }
    static std::uint64_t bits_of(std::uint64_t h) noexcept {
        return (std::uint64_t{1} << ((h >> 52) & 63)) | (std::uint64_t{1} << (h >> 58));
    }
    template <class Table>
    void rebuild(const Table& chains) noexcept {
        clear();
        chains.for_each_hash([&](std::size_t hash) { add(hash); });
    }

    std::unique_ptr<std::uint64_t[]> words_;
    std::size_t count_ = 0; // a power of two, or 0
    std::size_t stale_ = 0; // prefixes removed since the last rebuild
};

} // namespace detail
HERALD_NAMESPACE_END
