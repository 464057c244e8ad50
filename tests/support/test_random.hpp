#pragma once
// The random numbers of herald's generated tests (unit tests and the differential conformance
// tests): splitmix64, so a seed gives the same sequence on every platform and standard library
// (std::mt19937_64 is portable too, but the std distributions are not).

#include <cstddef>
#include <cstdint>
#include <vector>

namespace herald_test {

/// splitmix64 with the few draws the tests need.
class Random {
public:
    explicit Random(std::uint64_t seed) : state_(seed) {}

    std::uint64_t next() {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    /// Uniform in [0, n), n > 0 (the modulo bias is irrelevant here).
    std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
    /// True `percent` times in a hundred.
    bool chance(unsigned percent) { return below(100) < percent; }
    template <class T>
    const T& pick(const std::vector<T>& items) {
        return items[below(items.size())];
    }

private:
    std::uint64_t state_;
};

} // namespace herald_test
