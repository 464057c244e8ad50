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
//
// The parts are in their own headers: the token trie in token_trie.hpp, the glob tables and the
// prefix hash in glob_table.hpp, the Bloom filter in prefix_filter.hpp. This file owns the
// entries and composes the parts.

#include <herald/detail/glob_table.hpp>
#include <herald/detail/prefix_filter.hpp>
#include <herald/detail/token_trie.hpp>
#include <herald/pattern.hpp>
#include <herald/version.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

HERALD_NAMESPACE_BEGIN
namespace detail {

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
        for (const Trie& trie : tries_) {
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
        for (const Trie& trie : tries_) {
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

    // ---- token tries (token_trie.hpp) -----------------------------------------------------------

    using Node = TrieNode<Entry>;
    using Trie = TokenTrie<Entry>;

    Trie* trie_for(PatternKind kind, char separator) noexcept {
        for (Trie& t : tries_) {
            if (t.kind == kind && t.separator == separator) {
                return &t;
            }
        }
        return nullptr;
    }

    void insert_token(std::unique_ptr<Entry> entry) {
        const Pattern& pattern = entry->pattern;
        Trie* trie = trie_for(pattern.kind(), pattern.separator());
        if (trie == nullptr) {
            tries_.emplace_back(pattern.kind(), pattern.separator());
            trie = &tries_.back();
        }
        try {
            *token_slot(*trie, pattern, true, nullptr) = entry.release();
        } catch (...) {
            // Out of memory half-way down: take away the nodes made for nothing.
            std::vector<TrieStep> path;
            token_slot(*trie, pattern, false, &path);
            prune_trie(*trie, path);
            drop_if_unused(trie);
            throw;
        }
    }

    Entry* extract_token(const Pattern& pattern) {
        Trie* trie = trie_for(pattern.kind(), pattern.separator());
        if (trie == nullptr) {
            return nullptr;
        }
        std::vector<TrieStep> path;
        Entry** slot = token_slot(*trie, pattern, false, &path);
        if (slot == nullptr || *slot == nullptr) {
            return nullptr;
        }
        Entry* taken = std::exchange(*slot, nullptr);
        prune_trie(*trie, path);
        drop_if_unused(trie);
        return taken;
    }

    static void destroy_token(void* entry) noexcept { delete static_cast<Entry*>(entry); }

    void drop_if_unused(Trie* trie) noexcept {
        if (trie->root.unused()) {
            tries_.erase(tries_.begin() + (trie - tries_.data()));
        }
    }

    // ---- globs (glob_table.hpp, prefix_filter.hpp) ----------------------------------------------

    struct PrefixOf {
        static std::string_view key(const GlobEntry* e) noexcept {
            return glob_literal_prefix(e->pattern.text());
        }
    };
    struct TextOf {
        static std::string_view key(const GlobEntry* e) noexcept { return e->pattern.text(); }
    };
    using ChainTable = GlobTable<GlobEntry, PrefixOf, 80>; // literal prefix -> chain of globs
    using TextTable = GlobTable<GlobEntry, TextOf, 75>;    // glob text -> its entry

    // Globs: glob_chains_ maps a literal prefix to the chain of globs that have it (the chain
    // owns its entries; the slot points at the first); glob_texts_ finds a glob by its text, so
    // that find, insert and erase cost O(1) however long a chain gets.
    void insert_glob(std::unique_ptr<GlobEntry> entry) {
        const std::string_view prefix = glob_literal_prefix(entry->pattern.text());
        const std::size_t hash = prefix_hash(prefix);
        typename ChainTable::Slot* chain = glob_chains_.find(prefix, hash);
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
        typename TextTable::Slot* found =
            glob_texts_.find(pattern.text(), text_hash(pattern.text()));
        if (found == nullptr) {
            return nullptr;
        }
        GlobEntry* e = found->entry;
        glob_texts_.erase(found);
        const std::string_view prefix = glob_literal_prefix(pattern.text());
        typename ChainTable::Slot* chain = glob_chains_.find(prefix, prefix_hash(prefix));
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
        const typename TextTable::Slot* found =
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
        Trie* trie = trie_for(pattern.kind(), pattern.separator());
        if (trie == nullptr) {
            return nullptr;
        }
        Entry** slot = token_slot(*trie, pattern, false, nullptr);
        return slot != nullptr ? *slot : nullptr;
    }

    std::vector<Trie> tries_;
    ChainTable glob_chains_;
    TextTable glob_texts_;
    PrefixFilter prefix_filter_;                                    // over glob_chains_
    std::vector<std::pair<std::size_t, std::size_t>> glob_lengths_; // (prefix length, buckets)
    std::size_t size_ = 0;
    mutable std::atomic<std::uint64_t> evaluations_{0};
};

} // namespace detail
HERALD_NAMESPACE_END
