// Unit tests of herald::detail::BoundedRing, the lock-free bounded queue of a queued
// subscription: exact capacity (any, not only powers of two), FIFO order across wrap-arounds,
// and every entry exactly once with several producers and consumers.
#include <herald/detail/bounded_ring.hpp>

#include "test_catch.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

using herald::detail::BoundedRing;
using herald::detail::QueueEntry;

namespace {

// The ring never looks inside a node: the sequence number alone identifies an entry here.
QueueEntry entry(std::uint64_t n) {
    return QueueEntry{nullptr, n};
}

} // namespace

TEST_CASE("bounded ring: a ring of capacity 1 holds exactly one entry", "[bounded_ring]") {
    BoundedRing ring(1);
    QueueEntry out;
    CHECK_FALSE(ring.try_pop(out));
    CHECK(ring.size() == 0);
    CHECK(ring.try_push(entry(1)));
    CHECK_FALSE(ring.try_push(entry(2)));
    CHECK(ring.size() == 1);
    REQUIRE(ring.try_pop(out));
    CHECK(out.sequence == 1);
    CHECK_FALSE(ring.try_pop(out));
    CHECK(ring.try_push(entry(3)));
    REQUIRE(ring.try_pop(out));
    CHECK(out.sequence == 3);
}

TEST_CASE("bounded ring: any capacity is exact and keeps FIFO order over many wrap-arounds",
          "[bounded_ring]") {
    for (const std::size_t capacity : {2U, 3U, 5U, 7U, 8U, 12U, 64U, 100U}) {
        INFO("capacity " << capacity);
        BoundedRing ring(capacity);
        std::uint64_t pushed = 0;
        std::uint64_t popped = 0;
        bool in_order = true;
        for (int round = 0; round < 40; ++round) {
            // Fill to the brim, then take a varying part out, so the cursors wrap at every
            // offset of the cells.
            while (ring.try_push(entry(pushed))) {
                ++pushed;
            }
            CHECK(ring.size() == capacity);
            const std::size_t take = 1 + static_cast<std::size_t>(round) % capacity;
            QueueEntry out;
            for (std::size_t i = 0; i < take; ++i) {
                REQUIRE(ring.try_pop(out));
                in_order = in_order && out.sequence == popped;
                ++popped;
            }
            CHECK(ring.size() == capacity - take);
        }
        QueueEntry out;
        while (ring.try_pop(out)) {
            in_order = in_order && out.sequence == popped;
            ++popped;
        }
        CHECK(in_order);
        CHECK(popped == pushed);
        CHECK(ring.size() == 0);
    }
}

TEST_CASE("bounded ring: several producers and consumers pass every entry exactly once",
          "[bounded_ring][threads]") {
    constexpr std::size_t producers = 2;
    constexpr std::size_t consumers = 2;
    constexpr std::uint64_t per_producer = 50000;
    BoundedRing ring(6); // small and not a power of two: full and empty are hit constantly
    std::vector<std::atomic<std::uint32_t>> seen(producers * per_producer);
    std::atomic<std::uint64_t> consumed{0};
    std::atomic<std::uint64_t> refused{0};
    std::vector<std::thread> threads;
    for (std::size_t p = 0; p < producers; ++p) {
        threads.emplace_back([&, p] {
            for (std::uint64_t i = 0; i < per_producer; ++i) {
                while (!ring.try_push(entry(p * per_producer + i))) {
                    refused.fetch_add(1, std::memory_order_relaxed);
                    std::this_thread::yield();
                }
            }
        });
    }
    for (std::size_t c = 0; c < consumers; ++c) {
        threads.emplace_back([&] {
            QueueEntry out;
            while (consumed.load() < producers * per_producer) {
                if (ring.try_pop(out)) {
                    seen[out.sequence].fetch_add(1, std::memory_order_relaxed);
                    consumed.fetch_add(1);
                } else {
                    std::this_thread::yield();
                }
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    std::uint64_t once = 0;
    for (const auto& count : seen) {
        once += count.load() == 1 ? 1U : 0U;
    }
    CHECK(consumed.load() == producers * per_producer);
    CHECK(once == producers * per_producer);
    CHECK(ring.size() == 0);
}
