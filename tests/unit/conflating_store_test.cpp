// Unit tests of herald::detail::ConflatingStore, the queue of Overflow::conflate: the latest
// message per channel, in the order of their latest publish, and exactly the references it took.
#include <herald/detail/conflating_store.hpp>

#include <herald/detail/message_node.hpp>

#include "test_catch.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

using herald::detail::ConflatingStore;
using herald::detail::MessageNode;
using herald::detail::QueueEntry;

namespace {

// A payload that counts how many of it are alive, so a test sees every node the store released.
struct Tracked {
    static inline int alive = 0;
    int value;
    explicit Tracked(int v) : value(v) { ++alive; }
    Tracked(const Tracked& other) : value(other.value) { ++alive; }
    Tracked& operator=(const Tracked&) = default;
    ~Tracked() { --alive; }
};

QueueEntry entry(std::string_view channel, int value, std::uint64_t sequence) {
    const Tracked payload(value);
    return QueueEntry{herald::detail::TypedMessageNode<Tracked>::create(channel, payload),
                      sequence};
}

int value_of(const QueueEntry& e) {
    return static_cast<const Tracked*>(e.node->payload)->value;
}

// Pops everything as "channel=value", releasing each node as a consumer does.
std::vector<std::string> drain(ConflatingStore& store) {
    std::vector<std::string> out;
    QueueEntry e;
    while (store.try_pop(e)) {
        out.push_back(std::string(e.node->channel()) + "=" + std::to_string(value_of(e)));
        e.node->release();
    }
    return out;
}

} // namespace

TEST_CASE("conflating store: a newer message replaces its channel's and moves it to the back",
          "[conflating_store]") {
    Tracked::alive = 0;
    {
        ConflatingStore store(10);
        CHECK_FALSE(store.push(entry("ann", 1, 1)).replaced);
        CHECK_FALSE(store.push(entry("bob", 1, 2)).replaced);
        const auto result = store.push(entry("ann", 2, 3));
        CHECK(result.replaced);
        CHECK_FALSE(result.evicted);
        CHECK(store.size() == 2);
        CHECK(Tracked::alive == 2); // the replaced node was released at once
        CHECK(drain(store) == std::vector<std::string>{"bob=1", "ann=2"});
        CHECK(store.size() == 0);
    }
    CHECK(Tracked::alive == 0);
}

TEST_CASE("conflating store: a full store evicts its oldest channel for a new one",
          "[conflating_store]") {
    Tracked::alive = 0;
    ConflatingStore store(2);
    store.push(entry("a", 1, 1));
    store.push(entry("b", 1, 2));
    const auto full = store.push(entry("c", 1, 3));
    CHECK(full.evicted);
    CHECK_FALSE(full.replaced);
    // A channel already held is replaced, not evicted, even when the store is full.
    const auto again = store.push(entry("b", 2, 4));
    CHECK(again.replaced);
    CHECK_FALSE(again.evicted);
    CHECK(store.size() == 2);
    CHECK(drain(store) == std::vector<std::string>{"c=1", "b=2"});
    CHECK(Tracked::alive == 0);
}

TEST_CASE("conflating store: channels are told apart by every byte and a popped one may return",
          "[conflating_store]") {
    Tracked::alive = 0;
    ConflatingStore store(8);
    const std::string nul_a("x\0a", 3);
    const std::string nul_b("x\0b", 3);
    store.push(entry(nul_a, 1, 1));
    store.push(entry(nul_b, 2, 2));
    store.push(entry("", 3, 3));
    CHECK(store.size() == 3);
    QueueEntry first;
    REQUIRE(store.try_pop(first));
    CHECK(first.node->channel() == nul_a);
    CHECK(first.sequence == 1);
    first.node->release();
    CHECK_FALSE(store.push(entry(nul_a, 4, 4)).replaced); // popped: a new entry, at the back
    CHECK(drain(store) ==
          std::vector<std::string>{std::string("x\0b=2", 5), "=3", std::string("x\0a=4", 5)});
    CHECK(Tracked::alive == 0);
}

TEST_CASE("conflating store: destroying a store releases what it still holds",
          "[conflating_store]") {
    Tracked::alive = 0;
    {
        ConflatingStore store(4);
        store.push(entry("a", 1, 1));
        store.push(entry("b", 1, 2));
        CHECK(Tracked::alive == 2);
    }
    CHECK(Tracked::alive == 0);
}
