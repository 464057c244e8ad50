// Unit tests of herald::detail::NodeArena, the per-thread memory of message nodes: blocks are
// recycled, a block freed on another thread goes back to its home arena, sizes fall into
// classes (large ones go to the heap), and an over-aligned payload keeps its alignment.
//
// Each case runs on a thread of its own: a fresh thread has a fresh arena, so what a case
// sees does not depend on what other tests left in this thread's free lists.
#include <herald/detail/node_arena.hpp>

#include <herald/detail/message_node.hpp>

#include "counting.hpp"
#include "test_catch.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <utility>
#include <vector>

using herald::detail::NodeArena;

namespace {

NodeArena::Block* block_of(void* memory) {
    return static_cast<NodeArena::Block*>(memory) - 1;
}

template <class F>
void on_fresh_thread(F&& f) {
    std::thread(std::forward<F>(f)).join();
}

} // namespace

TEST_CASE("node arena: a freed block is handed out again and costs no allocation", "[node_arena]") {
    on_fresh_thread([] {
        void* first = NodeArena::allocate(40);
        NodeArena::deallocate(first);
        herald_test::AllocationCounter::start();
        void* again = NodeArena::allocate(40);
        const std::size_t allocations = herald_test::AllocationCounter::stop();
        CHECK(again == first);
        CHECK(allocations == 0);
        NodeArena::deallocate(again);
    });
}

TEST_CASE("node arena: sizes fall into 64-byte classes and large ones come from the heap",
          "[node_arena]") {
    on_fresh_thread([] {
        struct Expect {
            std::size_t bytes;
            std::uint32_t size_class;
        };
        // The header (16 bytes) is part of the block: 48 payload bytes fill class 0.
        for (const Expect e : {Expect{1, 0}, Expect{48, 0}, Expect{49, 1}, Expect{112, 1},
                               Expect{113, 2}, Expect{496, 7}}) {
            INFO(e.bytes << " bytes");
            void* memory = NodeArena::allocate(e.bytes);
            const NodeArena::Block* block = block_of(memory);
            CHECK(block->size_class() == e.size_class);
            CHECK(block->home() != nullptr);
            CHECK(reinterpret_cast<std::uintptr_t>(block) % NodeArena::line == 0);
            NodeArena::deallocate(memory);
        }
        void* large = NodeArena::allocate(497);
        CHECK(block_of(large)->tag == 0); // a plain heap block
        CHECK(reinterpret_cast<std::uintptr_t>(large) % 16 == 0);
        NodeArena::deallocate(large);
    });
}

TEST_CASE("node arena: blocks of one thread share a home, another thread's have another",
          "[node_arena][threads]") {
    NodeArena* home_a = nullptr;
    NodeArena* home_b = nullptr;
    on_fresh_thread([&] {
        void* x = NodeArena::allocate(16);
        void* y = NodeArena::allocate(300);
        home_a = block_of(x)->home();
        CHECK(block_of(y)->home() == home_a);
        on_fresh_thread([&] {
            void* z = NodeArena::allocate(16);
            home_b = block_of(z)->home();
            NodeArena::deallocate(z);
        });
        NodeArena::deallocate(x);
        NodeArena::deallocate(y);
    });
    CHECK(home_a != nullptr);
    CHECK(home_b != nullptr);
    CHECK(home_a != home_b);
}

TEST_CASE("node arena: a block freed on another thread returns to its home arena",
          "[node_arena][threads]") {
    on_fresh_thread([] {
        std::vector<void*> blocks;
        for (int i = 0; i < 8; ++i) {
            blocks.push_back(NodeArena::allocate(100));
        }
        on_fresh_thread([&] { // a consumer frees them
            for (void* b : blocks) {
                NodeArena::deallocate(b);
            }
        });
        // The owner takes them back from its returned stack before it allocates anything new.
        std::vector<void*> again;
        again.reserve(blocks.size());
        herald_test::AllocationCounter::start();
        for (int i = 0; i < 8; ++i) {
            again.push_back(NodeArena::allocate(100));
        }
        const std::size_t allocations = herald_test::AllocationCounter::stop();
        CHECK(allocations == 0);
        for (void* b : again) {
            CHECK(std::find(blocks.begin(), blocks.end(), b) != blocks.end());
            NodeArena::deallocate(b);
        }
    });
}

TEST_CASE("node arena: a block outlives the thread that allocated it", "[node_arena][threads]") {
    void* orphan = nullptr;
    on_fresh_thread([&] { orphan = NodeArena::allocate(64); });
    // Its arena was closed with its thread; freeing the last block frees the arena too (the
    // sanitizer builds check that nothing leaks or is touched after it is freed).
    REQUIRE(orphan != nullptr);
    NodeArena::deallocate(orphan);
    SUCCEED();
}

TEST_CASE("node arena: an over-aligned payload in a message node is aligned", "[node_arena]") {
    struct alignas(128) Wide {
        int value;
    };
    on_fresh_thread([] {
        std::vector<herald::detail::MessageNode*> nodes;
        for (int i = 0; i < 4; ++i) {
            const Wide w{i};
            nodes.push_back(herald::detail::TypedMessageNode<Wide>::create("wide", w));
        }
        for (int i = 0; i < 4; ++i) {
            const auto* payload =
                static_cast<const Wide*>(nodes[static_cast<std::size_t>(i)]->payload);
            CHECK(reinterpret_cast<std::uintptr_t>(payload) % 128 == 0);
            CHECK(payload->value == i);
            CHECK(nodes[static_cast<std::size_t>(i)]->channel() == "wide");
            nodes[static_cast<std::size_t>(i)]->release();
        }
    });
}
