#pragma once
// The token trie of PatternIndex: the NATS or MQTT patterns of one (grammar, separator), as a
// trie of tokens whose nodes are stored by value in one open-addressing table. This file owns
// the node (`TrieNode`), the table (`TrieNodeTable`), the trie (`TokenTrie`: root, table, node
// ids), the operations PatternIndex composes (`token_slot` finds or makes the entry slot of a
// pattern, `prune_trie` removes the nodes left unused, `match_trie` walks a subject down the
// trie) and the walk's stack (`SmallStack`). The nodes own the entries they point to (`Entry`
// is PatternIndex's: a `pattern` and a `value`). The design and the measured memory are in
// pattern_index.hpp's top comment.

#include <herald/pattern.hpp>
#include <herald/version.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

HERALD_NAMESPACE_BEGIN
namespace detail {

/// A stack with its first N elements inline: no allocation unless it grows past N.
template <class T, std::size_t N>
class SmallStack {
public:
    void push(const T& value) {
        if (size_ < N) {
            inline_[size_] = value;
        } else {
            heap_.push_back(value);
        }
        ++size_;
    }
    T pop() {
        --size_;
        if (size_ >= N) {
            T value = heap_.back();
            heap_.pop_back();
            return value;
        }
        return inline_[size_];
    }
    bool empty() const noexcept { return size_ == 0; }

private:
    std::array<T, N> inline_; // left uninitialised: only elements below size_ are read
    std::vector<T> heap_;
    std::size_t size_ = 0;
};

// A trie node. Nodes are stored by value in their trie's open-addressing table, one cache line
// each, so that a walk reaching a node reads nothing else until it reports an entry. Nodes
// move when the table grows or closes a gap, so they name each other by id: a child's key is
// its parent's id and its token. The root (id 0) lives in the trie itself.
template <class Entry>
struct alignas(64) TrieNode {
    static constexpr std::size_t inline_token = 11;

    std::uint32_t tag = 0;        // the high half of the key's hash
    std::uint32_t id = 0;         // 0 marks an empty slot of the table
    std::uint32_t parent = 0;     // the parent's id
    std::uint32_t children = 0;   // children in the table, the wildcard one included
    std::uint64_t child_bits = 0; // bit (hash & 63) of every child's key hash, possibly more
    Entry* here = nullptr;        // owned: a pattern ending with this node's token
    Entry* single_end = nullptr;  // owned: a pattern ending with `*` / `+` after this node
    Entry* rest = nullptr;        // owned: a pattern ending with `>` / `#` after this node
    std::uint32_t token_size = 0;
    bool has_single = false; // has a child for the single-token wildcard
    // The token if it fits, else the address of an owned heap copy (stored with memcpy).
    char token_bytes[inline_token] = {};

    std::string_view token() const noexcept {
        if (token_size <= inline_token) {
            return {token_bytes, token_size};
        }
        const char* heap = nullptr;
        std::memcpy(&heap, token_bytes, sizeof heap);
        return {heap, token_size};
    }
    bool unused() const noexcept {
        return children == 0 && here == nullptr && single_end == nullptr && rest == nullptr;
    }
    // Frees what the node owns (not its children).
    void release() noexcept {
        delete here;
        delete single_end;
        delete rest;
        if (token_size > inline_token) {
            delete[] token().data();
        }
    }
};
static_assert(sizeof(char*) <= TrieNode<void>::inline_token);
static_assert(sizeof(TrieNode<void>) == 64, "herald: a trie node is one cache line");

inline std::uint64_t child_hash(std::uint32_t parent, std::string_view token) noexcept {
    std::uint64_t h = static_cast<std::uint64_t>(std::hash<std::string_view>{}(token)) ^
                      (static_cast<std::uint64_t>(parent) * 0x9e3779b97f4a7c15ULL);
    // The 64-bit finaliser of MurmurHash3: every output bit depends on every input bit, so
    // the table's home (high half) and the filter bit (low six bits) are independent.
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}
inline std::uint32_t hash_tag(std::uint64_t hash) noexcept {
    return static_cast<std::uint32_t>(hash >> 32);
}
inline std::uint64_t hash_bit(std::uint64_t hash) noexcept {
    return std::uint64_t{1} << (hash & 63);
}

// The nodes of one trie but its root: linear probing over one array of Nodes with
// backward-shift deletion. It owns what its nodes own. At most 80% full: a node is a whole
// cache line, so the table's size is what decides whether a large trie stays in the
// last-level cache (measured: 100,000 NATS patterns publish ~15% faster than at 50%), and
// probing on to the next line is cheap next to a miss.
template <class Entry>
class TrieNodeTable {
public:
    using Node = TrieNode<Entry>;

    TrieNodeTable() = default;
    TrieNodeTable(const TrieNodeTable&) = delete;
    TrieNodeTable& operator=(const TrieNodeTable&) = delete;
    TrieNodeTable(TrieNodeTable&& other) noexcept
        : slots_(std::move(other.slots_)), capacity_(std::exchange(other.capacity_, 0)),
          count_(std::exchange(other.count_, 0)) {}
    TrieNodeTable& operator=(TrieNodeTable&& other) noexcept {
        if (this != &other) {
            release_all();
            slots_ = std::move(other.slots_);
            capacity_ = std::exchange(other.capacity_, 0);
            count_ = std::exchange(other.count_, 0);
        }
        return *this;
    }
    ~TrieNodeTable() { release_all(); }

    /// The node keyed (parent, token) whose key hash is `hash`, or null.
    Node* find(std::uint32_t parent, std::string_view token, std::uint64_t hash) const noexcept {
        if (count_ == 0) {
            return nullptr;
        }
        const std::uint32_t tag = hash_tag(hash);
        for (std::size_t i = tag & (capacity_ - 1);; i = (i + 1) & (capacity_ - 1)) {
            Node& node = slots_[i];
            if (node.id == 0) {
                return nullptr;
            }
            if (node.tag == tag && node.parent == parent && node.token() == token) {
                return &node;
            }
        }
    }

    /// Makes room for `more` inserts that will not move any node.
    void reserve(std::size_t more) {
        std::size_t capacity = capacity_ == 0 ? 16 : capacity_;
        while ((count_ + more) * 5 > capacity * 4) {
            capacity *= 2;
        }
        if (capacity != capacity_) {
            grow(capacity);
        }
    }

    /// Stores `node`, whose key is not in the table yet (after reserve). Returns where.
    Node* insert(const Node& node) noexcept {
        std::size_t i = node.tag & (capacity_ - 1);
        while (slots_[i].id != 0) {
            i = (i + 1) & (capacity_ - 1);
        }
        slots_[i] = node;
        ++count_;
        return &slots_[i];
    }

    /// Removes `node` (whose resources the caller has released): moves later nodes of its
    /// probe sequence back, so every pointer into the table is invalidated.
    void erase(Node* node) noexcept {
        std::size_t hole = static_cast<std::size_t>(node - slots_.get());
        slots_[hole].id = 0;
        --count_;
        for (std::size_t i = (hole + 1) & (capacity_ - 1); slots_[i].id != 0;
             i = (i + 1) & (capacity_ - 1)) {
            const std::size_t want = slots_[i].tag & (capacity_ - 1);
            // Slot i may stay only if its home lies cyclically in (hole, i].
            const bool stays = hole <= i ? (hole < want && want <= i) : (hole < want || want <= i);
            if (!stays) {
                slots_[hole] = slots_[i];
                slots_[i].id = 0;
                hole = i;
            }
        }
    }

    template <class F>
    void for_each(F&& f) const {
        for (std::size_t i = 0; i < capacity_; ++i) {
            if (slots_[i].id != 0) {
                f(static_cast<const Node&>(slots_[i]));
            }
        }
    }

private:
    void grow(std::size_t capacity) {
        if (capacity > (std::size_t{1} << 31)) {
            throw std::length_error("herald: too many pattern tokens");
        }
        std::unique_ptr<Node[]> old = std::exchange(slots_, std::make_unique<Node[]>(capacity));
        const std::size_t old_capacity = std::exchange(capacity_, capacity);
        count_ = 0;
        for (std::size_t i = 0; i < old_capacity; ++i) {
            if (old[i].id != 0) {
                insert(old[i]);
            }
        }
    }

    void release_all() noexcept {
        for (std::size_t i = 0; i < capacity_; ++i) {
            if (slots_[i].id != 0) {
                slots_[i].release();
                slots_[i].id = 0;
            }
        }
        count_ = 0;
    }

    std::unique_ptr<Node[]> slots_; // value-initialised: every slot starts empty
    std::size_t capacity_ = 0;      // a power of two, or 0
    std::size_t count_ = 0;
};

// One trie: its grammar and separator, the root (id 0), the table of every other node, and the
// node ids in use.
template <class Entry>
struct TokenTrie {
    using Node = TrieNode<Entry>;

    TokenTrie(PatternKind k, char s) noexcept : kind(k), separator(s) {}
    TokenTrie(const TokenTrie&) = delete;
    TokenTrie& operator=(const TokenTrie&) = delete;
    TokenTrie(TokenTrie&& other) noexcept
        : kind(other.kind), separator(other.separator), root(std::exchange(other.root, Node{})),
          nodes(std::move(other.nodes)), free_ids(std::move(other.free_ids)),
          next_id(std::exchange(other.next_id, 1)) {}
    TokenTrie& operator=(TokenTrie&& other) noexcept {
        if (this != &other) {
            root.release();
            kind = other.kind;
            separator = other.separator;
            root = std::exchange(other.root, Node{});
            nodes = std::move(other.nodes);
            free_ids = std::move(other.free_ids);
            next_id = std::exchange(other.next_id, 1);
        }
        return *this;
    }
    ~TokenTrie() { root.release(); }

    PatternKind kind;
    char separator;
    Node root; // id 0
    TrieNodeTable<Entry> nodes;
    // Ids of erased nodes, for reuse. Its capacity is kept at least next_id, so that giving
    // an id back never allocates.
    std::vector<std::uint32_t> free_ids;
    std::uint32_t next_id = 1;

    Node* node(std::uint32_t parent, std::string_view token) const noexcept {
        return nodes.find(parent, token, child_hash(parent, token));
    }
};

// The single-token and the tail wildcard of a token grammar.
inline std::string_view single_spelling(PatternKind kind) noexcept {
    return kind == PatternKind::nats ? "*" : "+";
}
inline std::string_view rest_spelling(PatternKind kind) noexcept {
    return kind == PatternKind::nats ? ">" : "#";
}

// One step of a walk down a trie, kept to prune nodes left unused.
struct TrieStep {
    std::uint32_t parent; // the id of the node the step leaves
    std::string_view token;
};

// Makes the child (parent, token) of `parent`. The table has room (reserved by the caller),
// so no node moves.
template <class Entry>
inline TrieNode<Entry>* make_trie_child(TokenTrie<Entry>& trie, TrieNode<Entry>& parent,
                                        std::string_view token, std::string_view single,
                                        std::uint64_t hash) {
    using Node = TrieNode<Entry>;
    Node child;
    child.tag = hash_tag(hash);
    child.parent = parent.id;
    child.token_size = static_cast<std::uint32_t>(token.size());
    if (token.size() <= Node::inline_token) {
        std::memcpy(child.token_bytes, token.data(), token.size());
    } else {
        char* heap = new char[token.size()];
        std::memcpy(heap, token.data(), token.size());
        std::memcpy(child.token_bytes, &heap, sizeof heap);
    }
    if (trie.free_ids.empty()) {
        child.id = trie.next_id++;
    } else {
        child.id = trie.free_ids.back();
        trie.free_ids.pop_back();
    }
    ++parent.children;
    parent.child_bits |= hash_bit(hash);
    if (token == single) {
        parent.has_single = true;
    }
    return trie.nodes.insert(child);
}

// The entry slot of a token pattern. With `create`, missing nodes are made on the way;
// without, a missing node gives null. `path` (if given) receives the steps taken.
template <class Entry>
inline Entry** token_slot(TokenTrie<Entry>& trie, const Pattern& pattern, bool create,
                          std::vector<TrieStep>* path) {
    using Node = TrieNode<Entry>;
    const std::string_view single = single_spelling(pattern.kind());
    if (create) {
        // Room for every node this pattern could add, so that no node moves on the way down
        // and nothing can fail but copying a long token.
        const std::size_t tokens =
            static_cast<std::size_t>(
                std::count(pattern.text().begin(), pattern.text().end(), pattern.separator())) +
            1;
        if (trie.next_id > std::numeric_limits<std::uint32_t>::max() - tokens) {
            throw std::length_error("herald: too many pattern tokens");
        }
        trie.nodes.reserve(tokens);
        trie.free_ids.reserve(static_cast<std::size_t>(trie.next_id) + tokens);
    }
    Node* node = &trie.root;
    TokenCursor cursor(pattern.text(), pattern.separator());
    for (;;) {
        const std::string_view token = cursor.next();
        const bool last = cursor.done();
        if (last && token == rest_spelling(pattern.kind())) {
            return &node->rest;
        }
        if (last && token == single) {
            return &node->single_end;
        }
        const std::uint64_t hash = child_hash(node->id, token);
        Node* child = trie.nodes.find(node->id, token, hash);
        if (child == nullptr) {
            if (!create) {
                return nullptr;
            }
            child = make_trie_child(trie, *node, token, single, hash);
        }
        if (path != nullptr) {
            path->push_back(TrieStep{node->id, token});
        }
        node = child;
        if (last) {
            return &node->here;
        }
    }
}

// Removes the nodes at the end of `path` that are no longer used, deepest first.
template <class Entry>
inline void prune_trie(TokenTrie<Entry>& trie, const std::vector<TrieStep>& path) noexcept {
    using Node = TrieNode<Entry>;
    for (std::size_t i = path.size(); i-- > 0;) {
        Node* child = trie.node(path[i].parent, path[i].token);
        if (!child->unused()) {
            return;
        }
        const bool wildcard = path[i].token == single_spelling(trie.kind);
        trie.free_ids.push_back(child->id); // never allocates (see TokenTrie::free_ids)
        child->release();
        trie.nodes.erase(child); // moves nodes: find the parent afterwards
        Node* parent = i == 0 ? &trie.root : trie.node(path[i - 1].parent, path[i - 1].token);
        --parent->children;
        if (wildcard) {
            parent->has_single = false;
        }
        if (parent->children == 0) {
            parent->child_bits = 0;
        }
    }
}

template <class Entry, class F>
inline std::uint64_t match_trie(const TokenTrie<Entry>& trie, std::string_view subject,
                                F& on_match) {
    using Node = TrieNode<Entry>;
    const bool nats = trie.kind == PatternKind::nats;
    if (nats ? !nats_subject_matchable(subject, trie.separator) : !mqtt_topic_matchable(subject)) {
        return 0;
    }
    // MQTT 4.7.2: no wildcard in the first level matches a topic starting with '$'.
    const bool dollar = !nats && subject.front() == '$';
    const std::string_view single = single_spelling(trie.kind);
    std::uint64_t matches = 0;
    const auto report = [&](Entry* e) {
        if (e != nullptr) {
            ++matches;
            on_match(static_cast<const Pattern&>(e->pattern), e->value);
        }
    };
    struct Frame {
        const Node* node;
        std::size_t position; // of the next token; subject.size() + 1 once all are consumed
    };
    SmallStack<Frame, 32> stack;
    stack.push(Frame{&trie.root, 0});
    while (!stack.empty()) {
        const Frame frame = stack.pop();
        const Node* node = frame.node;
        if (frame.position > subject.size()) {
            report(node->here);
            if (!nats) {
                report(node->rest); // `#` also matches the parent level
            }
            continue;
        }
        const bool wildcards = !(dollar && frame.position == 0);
        if (wildcards) {
            report(node->rest); // at least one token remains
        }
        std::size_t end = subject.find(trie.separator, frame.position);
        if (end == std::string_view::npos) {
            end = subject.size();
        }
        const std::size_t next = end + 1;
        if (wildcards && next > subject.size()) {
            report(node->single_end);
        }
        if (node->children == 0) {
            continue;
        }
        if (wildcards && node->has_single) {
            stack.push(Frame{trie.node(node->id, single), next});
        }
        const std::string_view token = subject.substr(frame.position, end - frame.position);
        // A subject token spelled like the wildcard ("*" is a valid NATS subject token) is
        // matched by the wildcard only: no literal child has that spelling.
        if (token != single) {
            const std::uint64_t hash = child_hash(node->id, token);
            // Most nodes have few children: their filter bits spare a probe of the table
            // (and its cache miss) for nearly every token they do not have.
            if ((node->child_bits & hash_bit(hash)) != 0) {
                if (const Node* child = trie.nodes.find(node->id, token, hash)) {
                    stack.push(Frame{child, next});
                }
            }
        }
    }
    return matches;
}

} // namespace detail
HERALD_NAMESPACE_END
