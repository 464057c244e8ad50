#pragma once
// A message node: the heap copy of one publication that every queue it went into shares (the
// payload, the channel, the publish time), and the queue entry that refers to it.

#include <herald/detail/node_arena.hpp>
#include <herald/version.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>
#include <string_view>
#include <utility>

HERALD_NAMESPACE_BEGIN
namespace detail {

/// One publish, shared by every queue it went into: the payload, the channel and the time.
/// One block holds the node, then the channel's bytes, then the payload, so building it is
/// one allocation (usually none: see NodeArena) and a 64-byte payload with a short channel
/// name fits in two cache lines with the block's header.
struct MessageNode {
    MessageNode(void (*destroy_fn)(MessageNode*) noexcept, std::uint32_t channel_bytes) noexcept
        : channel_size(channel_bytes), destroy(destroy_fn) {}
    MessageNode(const MessageNode&) = delete;
    MessageNode& operator=(const MessageNode&) = delete;

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
    void (*destroy)(MessageNode*) noexcept;
    std::chrono::system_clock::time_point published_at{};
    const void* payload = nullptr; // in the same block, after the channel
};

/// Builds and destroys the nodes of payload type `T`.
template <class T>
struct TypedMessageNode {
    /// A node holding `from`, with a copy of `channel_name` in the same block.
    template <class U>
    static MessageNode* create(std::string_view channel_name, U&& from) {
        if (channel_name.size() > std::numeric_limits<std::uint32_t>::max()) [[unlikely]] {
            throw std::length_error("herald: a channel name of 4 GiB or more cannot be queued");
        }
        const auto name_size = static_cast<std::uint32_t>(channel_name.size());
        // Blocks are aligned to 16; more is made up for by padding before the payload.
        constexpr std::size_t padding = alignof(T) > 16 ? alignof(T) - 16 : 0;
        void* memory = NodeArena::allocate(payload_offset(name_size) + padding + sizeof(T));
        char* name = static_cast<char*>(memory) + sizeof(MessageNode);
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
        auto* node = ::new (memory) MessageNode(&destroy_node, name_size);
        node->payload = place;
        return node;
    }

    static void destroy_node(MessageNode* node) noexcept {
        static_cast<const T*>(node->payload)->~T();
        node->~MessageNode();
        NodeArena::deallocate(node);
    }

private:
    static constexpr std::size_t payload_offset(std::size_t name_size) noexcept {
        const std::size_t a = alignof(T) < 16 ? alignof(T) : 16;
        return (sizeof(MessageNode) + name_size + a - 1) / a * a;
    }
    static void* align_up(char* p) noexcept {
        const auto address = reinterpret_cast<std::uintptr_t>(p);
        const std::uintptr_t a = alignof(T);
        return p + ((a - address % a) % a);
    }
};

/// What a queue holds: a reference to a node and the message's sequence number on the
/// subscriber list it was delivered through.
struct QueueEntry {
    MessageNode* node = nullptr;
    std::uint64_t sequence = 0;
};

} // namespace detail
HERALD_NAMESPACE_END
