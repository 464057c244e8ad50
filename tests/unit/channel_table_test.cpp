// Unit tests of herald::detail::ChannelTable, the lock-free open-addressing table from channel
// name to node: probing through collisions and tombstones, growth, shrinking, for_each.
#include <herald/detail/channel_table.hpp>

#include "test_catch.hpp"

#include <algorithm>
#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

// A node with a chosen hash, so that tests decide which keys collide.
struct Node {
    std::string name;
    std::size_t hash_value;
    std::size_t hash() const noexcept { return hash_value; }
    std::string_view key() const noexcept { return name; }
};

using Table = herald::detail::ChannelTable<Node>;

// Frees what a rebuild retires at once (no reader runs concurrently here) and counts it.
struct Retire {
    int* retired;
    void operator()(void* table, void (*destroy)(void*) noexcept) const {
        ++*retired;
        destroy(table);
    }
};

std::vector<std::string> names_of(const Table& table) {
    std::vector<std::string> names;
    table.for_each([&](Node* n) { names.push_back(n->name); });
    std::sort(names.begin(), names.end());
    return names;
}

} // namespace

TEST_CASE("channel table: a node is found by key and hash, a missing key is not",
          "[channel_table]") {
    Table table;
    int retired = 0;
    Node a{"a", 1}, b{"b", 2};
    table.insert(&a, Retire{&retired});
    table.insert(&b, Retire{&retired});
    CHECK(table.size() == 2);
    CHECK(table.find("a", 1) == &a);
    CHECK(table.find("b", 2) == &b);
    CHECK(table.find("c", 3) == nullptr);
    CHECK(table.find("a", 2) == nullptr); // the right key under another hash is not probed
    CHECK(retired == 0);
}

TEST_CASE("channel table: keys with one hash are all found, across the end of the table",
          "[channel_table]") {
    Table table;
    int retired = 0;
    const std::size_t last_slot = table.capacity() - 1; // probes wrap around to slot 0
    std::deque<Node> nodes;
    for (const char* name : {"x", "y", "z", ""}) {
        nodes.push_back(Node{name, last_slot});
        table.insert(&nodes.back(), Retire{&retired});
    }
    for (const Node& n : nodes) {
        CHECK(table.find(n.name, last_slot) == &n);
    }
    CHECK(table.find("w", last_slot) == nullptr);
}

TEST_CASE("channel table: an erased node leaves a tombstone that later probes pass over",
          "[channel_table]") {
    Table table;
    int retired = 0;
    Node first{"first", 5}, middle{"middle", 5}, last{"last", 5};
    for (Node* n : {&first, &middle, &last}) {
        table.insert(n, Retire{&retired});
    }
    table.erase(&middle);
    CHECK(table.size() == 2);
    CHECK(table.find("middle", 5) == nullptr);
    CHECK(table.find("last", 5) == &last); // probed past the tombstone
    CHECK(table.find("first", 5) == &first);
    CHECK(names_of(table) == std::vector<std::string>{"first", "last"});
}

TEST_CASE("channel table: inserting past half full rebuilds a larger table holding every node",
          "[channel_table]") {
    Table table;
    int retired = 0;
    const std::size_t initial = table.capacity();
    const std::size_t initial_bytes = table.memory_bytes();
    std::deque<Node> nodes;
    for (std::size_t i = 0; i < 100; ++i) {
        nodes.push_back(Node{"channel:" + std::to_string(i), i * 7919});
        table.insert(&nodes.back(), Retire{&retired});
    }
    CHECK(table.size() == 100);
    CHECK(table.capacity() > initial);
    CHECK(table.capacity() >= 200); // at most half full
    CHECK(table.memory_bytes() > initial_bytes);
    CHECK(retired > 0); // every replaced table went to the caller's reclamation
    for (const Node& n : nodes) {
        CHECK(table.find(n.name, n.hash_value) == &n);
    }
}

TEST_CASE("channel table: tombstones are cleared by a rebuild, so churn does not grow the table",
          "[channel_table]") {
    Table table;
    int retired = 0;
    const std::size_t initial = table.capacity();
    Node resident{"resident", 3};
    table.insert(&resident, Retire{&retired});
    std::deque<Node> churn;
    for (std::size_t i = 0; i < 200; ++i) {
        // Appended, not "c" + std::to_string(i): GCC 12 at -O3 reports that as an overlapping
        // memcpy (-Wrestrict, a known false positive).
        std::string name = "c";
        name += std::to_string(i);
        churn.push_back(Node{std::move(name), i});
        table.insert(&churn.back(), Retire{&retired});
        table.erase(&churn.back()); // without a shrink: leaves a tombstone
    }
    CHECK(table.size() == 1);
    CHECK(table.capacity() == initial);
    CHECK(retired > 0); // tombstones filled half the table: rebuilt in place of growing
    CHECK(table.find("resident", 3) == &resident);
    CHECK(names_of(table) == std::vector<std::string>{"resident"});
}

TEST_CASE("channel table: erasing down to a few nodes shrinks the table back", "[channel_table]") {
    Table table;
    int retired = 0;
    const std::size_t initial = table.capacity();
    std::deque<Node> nodes;
    for (std::size_t i = 0; i < 300; ++i) {
        nodes.push_back(Node{std::to_string(i), i});
        table.insert(&nodes.back(), Retire{&retired});
    }
    const std::size_t peak = table.capacity();
    const std::size_t peak_bytes = table.memory_bytes();
    for (std::size_t i = 0; i < 298; ++i) {
        table.erase(&nodes[i], Retire{&retired});
    }
    CHECK(table.size() == 2);
    CHECK(table.capacity() < peak);
    CHECK(table.capacity() >= initial);
    CHECK(table.memory_bytes() < peak_bytes);
    CHECK(table.find("298", 298) == &nodes[298]);
    CHECK(table.find("299", 299) == &nodes[299]);
    CHECK(table.find("0", 0) == nullptr);
    CHECK(names_of(table) == std::vector<std::string>{"298", "299"});
}

TEST_CASE("channel table: for_each visits every live node once and an empty table not at all",
          "[channel_table]") {
    Table table;
    int retired = 0;
    CHECK(names_of(table).empty());
    std::deque<Node> nodes;
    for (const char* name : {"c", "a", "b", "d"}) {
        nodes.push_back(Node{name, static_cast<std::size_t>(name[0])});
        table.insert(&nodes.back(), Retire{&retired});
    }
    table.erase(&nodes[3]);
    CHECK(names_of(table) == std::vector<std::string>{"a", "b", "c"});
}
