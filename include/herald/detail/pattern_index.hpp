#pragma once
// PatternIndex: distinct Patterns mapped to values, and the matching of a subject against all of
// them without scanning them all.
//
// - Token patterns (NATS, MQTT) live in one token trie per (grammar, separator). A subject is
//   split into tokens once and walked down the trie. A node has at most one child per literal
//   token, one child for the single-token wildcard (`*` / `+`), and entry slots for the patterns
//   that end at it, end with the single wildcard after it, or end with the tail wildcard
//   (`>` / `#`) after it. The walk is exact: every entry it reaches matches, so its cost is the
//   number of trie nodes on matching paths, not the number of patterns. The nodes of a trie are
//   stored by value, one cache line each, in one open-addressing table keyed by (parent id,
//   token): reaching a node costs one probe of that table and no pointer chasing, and each node
//   keeps a 64-bit filter of its children's key hashes, so that a token a node with few children
//   does not have (the common case below a wildcard) costs no probe at all.
// - Globs are grouped by their literal prefix (the bytes before the first `* ? [ \`), which
//   every subject they match starts with: a trie over those prefixes whose occupied nodes are
//   kept in one open-addressing hash table keyed by the prefix. Matching hashes the subject's
//   prefixes incrementally (FNV-1a, one pass), probes only the prefix lengths that occur, asks
//   a small Bloom filter of the prefixes in use before each probe (most lengths have no bucket
//   for a given subject, and a probe of a large table is a cache miss), and runs glob_match on
//   the globs of the buckets found. Globs starting with a wildcard have the
//   empty prefix and are evaluated for every subject: keep them few.
// - No match cache: nothing to invalidate, nothing to thrash on high-cardinality subjects.
//
// Memory (x86-64, glibc malloc, Value a pointer, 100,000 patterns, measured): ~145 bytes per
// `sensor:<id>:*` glob, ~150 bytes per `sensor.<id>.*` or `sensor/<id>/#` token pattern (a
// 64-byte node in a table 40-80% full, 76% here, plus the entry), plus ~120 bytes for each further
// token no other pattern shares; less or more as the tables happen to be fuller or emptier. Tokens
// longer than 11 bytes and texts longer than 15 bytes add their own heap buffer.

#include <herald/pattern.hpp>
#include <herald/version.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
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

/// Distinct `Pattern`s mapped to `Value`s, matched against subjects without scanning every
/// pattern (see the comment at the top of this file).
/// **Thread-safety:** none of its own. Const member functions (`find` const, `match`, `size`,
/// `evaluations`, `for_each`) may run concurrently with each other; anything else needs
/// exclusive access. The broker wraps it in its own lock.
/// **Lifetime:** a `Value*` or `Value&` handed out stays valid until that pattern is erased or
/// the index is cleared or destroyed (entries never move, not even when the index is moved).
template <class Value>
class PatternIndex {
public:
    PatternIndex() = default;
    PatternIndex(const PatternIndex&) = delete;
    PatternIndex& operator=(const PatternIndex&) = delete;
    PatternIndex(PatternIndex&& other) noexcept
        : tries_(std::move(other.tries_)), glob_chains_(std::move(other.glob_chains_)),
          glob_texts_(std::move(other.glob_texts_)),
          prefix_filter_(std::move(other.prefix_filter_)),
          glob_lengths_(std::move(other.glob_lengths_)), size_(std::exchange(other.size_, 0)),
          evaluations_(other.evaluations_.exchange(0, std::memory_order_relaxed)) {}
    PatternIndex& operator=(PatternIndex&& other) noexcept {
        if (this != &other) {
            clear();
            tries_ = std::move(other.tries_);
            glob_chains_ = std::move(other.glob_chains_);
            glob_texts_ = std::move(other.glob_texts_);
            prefix_filter_ = std::move(other.prefix_filter_);
            glob_lengths_ = std::move(other.glob_lengths_);
            size_ = std::exchange(other.size_, 0);
            evaluations_.store(other.evaluations_.exchange(0, std::memory_order_relaxed),
                               std::memory_order_relaxed);
        }
        return *this;
    }
    ~PatternIndex() { free_globs(); }

    /// The value stored for `pattern`, or null.
    Value* find(const Pattern& pattern) noexcept {
        Entry* e = find_entry(pattern);
        return e != nullptr ? &e->value : nullptr;
    }
    const Value* find(const Pattern& pattern) const noexcept {
        const Entry* e = const_cast<PatternIndex*>(this)->find_entry(pattern);
        return e != nullptr ? &e->value : nullptr;
    }

    /// Stores a `Value` built from `args` for `pattern` unless one is stored already. Returns the
    /// stored value and whether it was inserted now. Strong exception guarantee.
    template <class... Args>
    std::pair<Value*, bool> try_emplace(const Pattern& pattern, Args&&... args) {
        if (Entry* existing = find_entry(pattern)) {
            return {&existing->value, false};
        }
        Value* value = nullptr;
        if (pattern.kind() == PatternKind::glob) {
            auto entry = std::make_unique<GlobEntry>(pattern, std::forward<Args>(args)...);
            value = &entry->value;
            insert_glob(std::move(entry));
        } else {
            auto entry = std::make_unique<Entry>(pattern, std::forward<Args>(args)...);
            value = &entry->value;
            insert_token(std::move(entry));
        }
        ++size_;
        return {value, true};
    }

    /// Stores `value` for `pattern`, replacing the value already stored for it, if any.
    Value& insert(const Pattern& pattern, Value value) {
        auto [stored, inserted] = try_emplace(pattern, std::move(value));
        if (!inserted) {
            *stored = std::move(value);
        }
        return *stored;
    }

    /// Removes `pattern` and its value; false if it was not there.
    bool erase(const Pattern& pattern) {
        const Extracted taken = extract(pattern);
        if (!taken) {
            return false;
        }
        taken.destroy(taken.entry);
        return true;
    }

    /// An entry taken out of the index by `extract`, not destroyed yet.
    struct Extracted {
        void* entry = nullptr;                     // null if there was nothing to extract
        void (*destroy)(void*) noexcept = nullptr; // destroys `entry`, its value included
        explicit operator bool() const noexcept { return entry != nullptr; }
    };

    /// Removes `pattern` like `erase`, but leaves its entry alive for the caller to destroy with
    /// `destroy(entry)` later: until then, its value stays where it is (for readers that found
    /// it before it was extracted), while match and find no longer reach it.
    Extracted extract(const Pattern& pattern) {
        Extracted taken = pattern.kind() == PatternKind::glob
                              ? Extracted{extract_glob(pattern), &destroy_glob}
                              : Extracted{extract_token(pattern), &destroy_token};
        if (taken) {
            --size_;
        }
        return taken;
    }

    /// Removes everything.
    void clear() noexcept {
        tries_.clear();
        free_globs();
        size_ = 0;
    }

    /// The number of distinct patterns stored.
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }

    /// Calls `on_match(const Pattern&, Value&)` once for every stored pattern that matches
    /// `subject`. The order is unspecified but deterministic: the same for the same sequence of
    /// inserts and erases (today: globs by literal-prefix length and, within one prefix, in
    /// insertion order; then token patterns). `on_match` must not modify the index. Allocates
    /// nothing unless the subject has more than 32 tokens.
    template <class F>
    void match(std::string_view subject, F&& on_match) const {
        std::uint64_t evaluations = 0;
        if (!glob_lengths_.empty()) {
            evaluations += match_globs(subject, on_match);
        }
        for (const TokenTrie& trie : tries_) {
            evaluations += match_trie(trie, subject, on_match);
        }
        if (evaluations != 0) {
            evaluations_.fetch_add(evaluations, std::memory_order_relaxed);
        }
    }

    /// Calls `f(const Pattern&, Value&)` for every stored pattern, in an unspecified order.
    /// `f` must not modify the index.
    template <class F>
    void for_each(F&& f) const {
        glob_chains_.for_each([&](GlobEntry* head) {
            for (GlobEntry* e = head; e != nullptr; e = e->next.get()) {
                f(static_cast<const Pattern&>(e->pattern), e->value);
            }
        });
        const auto visit = [&](const Node& node) {
            for (Entry* e : {node.here, node.single_end, node.rest}) {
                if (e != nullptr) {
                    f(static_cast<const Pattern&>(e->pattern), e->value);
                }
            }
        };
        for (const TokenTrie& trie : tries_) {
            visit(trie.root);
            trie.nodes.for_each(visit);
        }
    }

    /// Instrumentation: the number of candidate patterns evaluated by `match` so far. A glob
    /// candidate is one `glob_match` call (it may fail); the token tries reach only matching
    /// entries, so there each reported match counts as one evaluation.
    std::uint64_t evaluations() const noexcept {
        return evaluations_.load(std::memory_order_relaxed);
    }

private:
    struct Entry {
        template <class... Args>
        explicit Entry(const Pattern& p, Args&&... args)
            : pattern(p), value(std::forward<Args>(args)...) {}
        Pattern pattern;
        Value value;
    };

    // A glob, linked with the other globs of the same literal prefix.
    struct GlobEntry : Entry {
        using Entry::Entry;
        std::unique_ptr<GlobEntry> next; // owned
        GlobEntry* prev = nullptr;       // the previous one; the first's is the last (a ring)

        bool first() const noexcept { return prev->next.get() != this; }
    };

    // ---- token tries ----------------------------------------------------------------------------

    // A trie node. Nodes are stored by value in their trie's open-addressing table, one cache line
    // each, so that a walk reaching a node reads nothing else until it reports an entry. Nodes
    // move when the table grows or closes a gap, so they name each other by id: a child's key is
    // its parent's id and its token. The root (id 0) lives in the trie itself.
    struct alignas(64) Node {
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
    static_assert(sizeof(char*) <= Node::inline_token);

    static std::uint64_t child_hash(std::uint32_t parent, std::string_view token) noexcept {
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
    static std::uint32_t hash_tag(std::uint64_t hash) noexcept {
        return static_cast<std::uint32_t>(hash >> 32);
    }
    static std::uint64_t hash_bit(std::uint64_t hash) noexcept {
        return std::uint64_t{1} << (hash & 63);
    }

    // The nodes of one trie but its root: linear probing over one array of Nodes with
    // backward-shift deletion. It owns what its nodes own. At most 80% full: a node is a whole
    // cache line, so the table's size is what decides whether a large trie stays in the
    // last-level cache (measured: 100,000 NATS patterns publish ~15% faster than at 50%), and
    // probing on to the next line is cheap next to a miss.
    class NodeTable {
    public:
        NodeTable() = default;
        NodeTable(const NodeTable&) = delete;
        NodeTable& operator=(const NodeTable&) = delete;
        NodeTable(NodeTable&& other) noexcept
            : slots_(std::move(other.slots_)), capacity_(std::exchange(other.capacity_, 0)),
              count_(std::exchange(other.count_, 0)) {}
        NodeTable& operator=(NodeTable&& other) noexcept {
            if (this != &other) {
                release_all();
                slots_ = std::move(other.slots_);
                capacity_ = std::exchange(other.capacity_, 0);
                count_ = std::exchange(other.count_, 0);
            }
            return *this;
        }
        ~NodeTable() { release_all(); }

        /// The node keyed (parent, token) whose key hash is `hash`, or null.
        Node* find(std::uint32_t parent, std::string_view token,
                   std::uint64_t hash) const noexcept {
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
                const bool stays =
                    hole <= i ? (hole < want && want <= i) : (hole < want || want <= i);
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

    struct TokenTrie {
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
        NodeTable nodes;
        // Ids of erased nodes, for reuse. Its capacity is kept at least next_id, so that giving
        // an id back never allocates.
        std::vector<std::uint32_t> free_ids;
        std::uint32_t next_id = 1;

        Node* node(std::uint32_t parent, std::string_view token) const noexcept {
            return nodes.find(parent, token, child_hash(parent, token));
        }
    };

    static std::string_view single_spelling(PatternKind kind) noexcept {
        return kind == PatternKind::nats ? "*" : "+";
    }
    static std::string_view rest_spelling(PatternKind kind) noexcept {
        return kind == PatternKind::nats ? ">" : "#";
    }

    TokenTrie* trie_for(PatternKind kind, char separator) noexcept {
        for (TokenTrie& t : tries_) {
            if (t.kind == kind && t.separator == separator) {
                return &t;
            }
        }
        return nullptr;
    }

    // One step of a walk down a trie, kept to prune nodes left unused.
    struct Step {
        std::uint32_t parent; // the id of the node the step leaves
        std::string_view token;
    };

    // Makes the child (parent, token) of `parent`. The table has room (reserved by the caller),
    // so no node moves.
    static Node* make_child(TokenTrie& trie, Node& parent, std::string_view token,
                            std::string_view single, std::uint64_t hash) {
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
    Entry** token_slot(TokenTrie& trie, const Pattern& pattern, bool create,
                       std::vector<Step>* path) {
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
                child = make_child(trie, *node, token, single, hash);
            }
            if (path != nullptr) {
                path->push_back(Step{node->id, token});
            }
            node = child;
            if (last) {
                return &node->here;
            }
        }
    }

    // Removes the nodes at the end of `path` that are no longer used, deepest first.
    static void prune(TokenTrie& trie, const std::vector<Step>& path) noexcept {
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

    void insert_token(std::unique_ptr<Entry> entry) {
        const Pattern& pattern = entry->pattern;
        TokenTrie* trie = trie_for(pattern.kind(), pattern.separator());
        if (trie == nullptr) {
            tries_.emplace_back(pattern.kind(), pattern.separator());
            trie = &tries_.back();
        }
        try {
            *token_slot(*trie, pattern, true, nullptr) = entry.release();
        } catch (...) {
            // Out of memory half-way down: take away the nodes made for nothing.
            std::vector<Step> path;
            token_slot(*trie, pattern, false, &path);
            prune(*trie, path);
            drop_if_unused(trie);
            throw;
        }
    }

    Entry* extract_token(const Pattern& pattern) {
        TokenTrie* trie = trie_for(pattern.kind(), pattern.separator());
        if (trie == nullptr) {
            return nullptr;
        }
        std::vector<Step> path;
        Entry** slot = token_slot(*trie, pattern, false, &path);
        if (slot == nullptr || *slot == nullptr) {
            return nullptr;
        }
        Entry* taken = std::exchange(*slot, nullptr);
        prune(*trie, path);
        drop_if_unused(trie);
        return taken;
    }

    static void destroy_token(void* entry) noexcept { delete static_cast<Entry*>(entry); }

    void drop_if_unused(TokenTrie* trie) noexcept {
        if (trie->root.unused()) {
            tries_.erase(tries_.begin() + (trie - tries_.data()));
        }
    }

    template <class F>
    static std::uint64_t match_trie(const TokenTrie& trie, std::string_view subject, F& on_match) {
        const bool nats = trie.kind == PatternKind::nats;
        if (nats ? !nats_subject_matchable(subject, trie.separator)
                 : !mqtt_topic_matchable(subject)) {
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

    // ---- globs ----------------------------------------------------------------------------------

    // FNV-1a: computed byte by byte, so one pass over a subject yields the hash of every prefix.
    static constexpr std::size_t fnv_offset =
        sizeof(std::size_t) == 8 ? static_cast<std::size_t>(14695981039346656037ULL)
                                 : static_cast<std::size_t>(2166136261U);
    static constexpr std::size_t fnv_prime = sizeof(std::size_t) == 8
                                                 ? static_cast<std::size_t>(1099511628211ULL)
                                                 : static_cast<std::size_t>(16777619U);
    static constexpr std::size_t fnv_step(std::size_t h, char c) noexcept {
        return (h ^ static_cast<unsigned char>(c)) * fnv_prime;
    }

    static std::size_t prefix_hash(std::string_view s) noexcept {
        std::size_t h = fnv_offset;
        for (const char c : s) {
            h = fnv_step(h, c);
        }
        return h;
    }
    static std::size_t text_hash(std::string_view s) noexcept {
        return std::hash<std::string_view>{}(s);
    }

    struct PrefixOf {
        static std::string_view key(const GlobEntry* e) noexcept {
            return glob_literal_prefix(e->pattern.text());
        }
    };
    struct TextOf {
        static std::string_view key(const GlobEntry* e) noexcept { return e->pattern.text(); }
    };

    // An open-addressing hash table (linear probing, at most MaxLoad percent full) of glob
    // pointers, keyed by a view of the glob's own text (KeyOf::key), so that the key is not stored
    // at all: a slot is 16 bytes and a probe that misses touches one cache line. It owns nothing.
    template <class KeyOf, std::size_t MaxLoad>
    class GlobTable {
    public:
        struct Slot {
            std::size_t hash;
            GlobEntry* entry; // null for an empty slot
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
        void insert(std::size_t hash, GlobEntry* entry) noexcept {
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
                const bool stays =
                    hole <= i ? (hole < want && want <= i) : (hole < want || want <= i);
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

    // Globs: glob_chains_ maps a literal prefix to the chain of globs that have it (the chain
    // owns its entries; the slot points at the first); glob_texts_ finds a glob by its text, so
    // that find, insert and erase cost O(1) however long a chain gets.
    void insert_glob(std::unique_ptr<GlobEntry> entry) {
        const std::string_view prefix = glob_literal_prefix(entry->pattern.text());
        const std::size_t hash = prefix_hash(prefix);
        typename GlobTable<PrefixOf, 80>::Slot* chain = glob_chains_.find(prefix, hash);
        // Allocate first, so that nothing can fail once the tables change.
        glob_texts_.reserve_one();
        if (chain == nullptr) {
            glob_chains_.reserve_one();
            glob_lengths_.reserve(glob_lengths_.size() + 1);
            prefix_filter_.fit(glob_chains_);
        }
        glob_texts_.insert(text_hash(entry->pattern.text()), entry.get());
        if (chain == nullptr) {
            entry->prev = entry.get();
            glob_chains_.insert(hash, entry.release());
            prefix_filter_.add(hash);
            add_glob_length(prefix.size());
        } else {
            // Append in O(1): the first glob's prev is the last one. Match order within a chain
            // is insertion order.
            GlobEntry* first = chain->entry;
            GlobEntry* last = first->prev;
            entry->prev = last;
            first->prev = entry.get();
            last->next = std::move(entry);
        }
    }

    // Unlinks a glob; the caller owns it (its `next` is null).
    GlobEntry* extract_glob(const Pattern& pattern) noexcept {
        typename GlobTable<TextOf, 75>::Slot* found =
            glob_texts_.find(pattern.text(), text_hash(pattern.text()));
        if (found == nullptr) {
            return nullptr;
        }
        GlobEntry* e = found->entry;
        glob_texts_.erase(found);
        const std::string_view prefix = glob_literal_prefix(pattern.text());
        typename GlobTable<PrefixOf, 80>::Slot* chain =
            glob_chains_.find(prefix, prefix_hash(prefix));
        if (!e->first()) {
            GlobEntry* before = e->prev;
            std::unique_ptr<GlobEntry> doomed = std::move(before->next);
            before->next = std::move(doomed->next);
            (before->next ? before->next->prev : chain->entry->prev) = before;
            return doomed.release();
        }
        if (e->next) {
            e->next->prev = e->prev;
            chain->entry = e->next.release(); // same prefix: the slot's key is unchanged
        } else {
            glob_chains_.erase(chain);
            prefix_filter_.removed(glob_chains_);
            remove_glob_length(prefix.size());
        }
        return e;
    }

    static void destroy_glob(void* entry) noexcept { delete static_cast<GlobEntry*>(entry); }

    GlobEntry* find_glob(const Pattern& pattern) const noexcept {
        const typename GlobTable<TextOf, 75>::Slot* found =
            glob_texts_.find(pattern.text(), text_hash(pattern.text()));
        return found != nullptr ? found->entry : nullptr;
    }

    // Frees every glob, iteratively (a chain may be long).
    void free_globs() noexcept {
        glob_chains_.for_each([](GlobEntry* head) {
            while (head != nullptr) {
                GlobEntry* next = head->next.release();
                delete head;
                head = next;
            }
        });
        glob_chains_.clear();
        glob_texts_.clear();
        prefix_filter_.clear();
        glob_lengths_.clear();
    }

    // glob_lengths_: the distinct prefix lengths in use, ascending, each with its bucket count.
    void add_glob_length(std::size_t length) {
        const auto it = std::lower_bound(glob_lengths_.begin(), glob_lengths_.end(), length,
                                         [](const std::pair<std::size_t, std::size_t>& a,
                                            std::size_t b) { return a.first < b; });
        if (it != glob_lengths_.end() && it->first == length) {
            ++it->second;
        } else {
            glob_lengths_.insert(it, {length, 1});
        }
    }

    void remove_glob_length(std::size_t length) noexcept {
        const auto it = std::lower_bound(glob_lengths_.begin(), glob_lengths_.end(), length,
                                         [](const std::pair<std::size_t, std::size_t>& a,
                                            std::size_t b) { return a.first < b; });
        if (it != glob_lengths_.end() && it->first == length && --it->second == 0) {
            glob_lengths_.erase(it);
        }
    }

    template <class F>
    std::uint64_t match_globs(std::string_view subject, F& on_match) const {
        std::uint64_t evaluations = 0;
        std::size_t hash = fnv_offset;
        std::size_t hashed = 0;
        for (const auto& length_and_count : glob_lengths_) {
            const std::size_t length = length_and_count.first;
            if (length > subject.size()) {
                break;
            }
            while (hashed < length) {
                hash = fnv_step(hash, subject[hashed++]);
            }
            if (!prefix_filter_.may_contain(hash)) {
                continue;
            }
            const auto* chain = glob_chains_.find(subject.substr(0, length), hash);
            for (GlobEntry* e = chain != nullptr ? chain->entry : nullptr; e != nullptr;
                 e = e->next.get()) {
                ++evaluations;
                if (glob_match(e->pattern.text(), subject)) {
                    on_match(static_cast<const Pattern&>(e->pattern), e->value);
                }
            }
        }
        return evaluations;
    }

    Entry* find_entry(const Pattern& pattern) noexcept {
        if (pattern.kind() == PatternKind::glob) {
            return find_glob(pattern);
        }
        TokenTrie* trie = trie_for(pattern.kind(), pattern.separator());
        if (trie == nullptr) {
            return nullptr;
        }
        Entry** slot = token_slot(*trie, pattern, false, nullptr);
        return slot != nullptr ? *slot : nullptr;
    }

    std::vector<TokenTrie> tries_;
    GlobTable<PrefixOf, 80> glob_chains_;
    GlobTable<TextOf, 75> glob_texts_;
    PrefixFilter prefix_filter_;                                    // over glob_chains_
    std::vector<std::pair<std::size_t, std::size_t>> glob_lengths_; // (prefix length, buckets)
    std::size_t size_ = 0;
    mutable std::atomic<std::uint64_t> evaluations_{0};
};

} // namespace detail
HERALD_NAMESPACE_END
