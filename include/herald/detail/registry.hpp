#pragma once
// The registry: the writer side of a broker. It owns the routing nodes (the channel table and
// the pattern index with their subscriber lists), attaches and detaches subscriptions by
// replacing lists copy-on-write, pins channels for publishers, answers introspection, tells
// the extension hooks when local interest in a channel or pattern appears and goes, and
// retires what it unlinks. Everything here runs under the writer lock, except the lock-free
// reads the dispatcher makes (`find`, `match`, `closed`, `hooks`).

#include <herald/detail/channel_table.hpp>
#include <herald/detail/epoch.hpp>
#include <herald/detail/hooks.hpp>
#include <herald/detail/list_counter.hpp>
#include <herald/detail/pattern_index.hpp>
#include <herald/detail/platform.hpp>
#include <herald/detail/policy.hpp>
#include <herald/detail/queued_core.hpp>
#include <herald/detail/reclamation.hpp>
#include <herald/detail/routes.hpp>
#include <herald/detail/subscriber_list.hpp>
#include <herald/detail/subscription_core.hpp>
#include <herald/detail/type_key.hpp>
#include <herald/errors.hpp>
#include <herald/pattern.hpp>
#include <herald/stats.hpp>
#include <herald/version.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

HERALD_NAMESPACE_BEGIN
namespace detail {

template <bool Concurrent>
class Registry {
public:
    using Mutex = typename Locks<Concurrent>::Mutex;
    using SharedMutex = typename Locks<Concurrent>::SharedMutex;
    using Garbage = std::vector<RetireList::Entry>;

    explicit Registry(EpochDomain& domain) : domain_(domain), reclaimer_(domain) {}
    Registry(const Registry&) = delete;
    Registry& operator=(const Registry&) = delete;

    // ---- attach and detach ---------------------------------------------------------------

    /// Lists `core` on the channel `name`, binding the channel to `type` if it is free.
    /// `link` is set on the core before it becomes visible. Throws broker_closed_error and
    /// type_mismatch_error; on a throw nothing changed.
    void attach_exact(std::string_view name, const TypeKey& type, SubscriptionCore& core,
                      HostLink* link) {
        std::lock_guard lock(mutex_);
        if (closed_.load(std::memory_order_relaxed)) {
            throw broker_closed_error("herald: subscribe on a broker that has shut down");
        }
        Channel* channel = find_or_create_locked(name, type);
        core.owner = channel;
        // Set before the list makes the core visible: other threads (its consumer, a failing
        // handler) read it once they can reach the core.
        core.host = link;
        const bool first = channel->list.load(std::memory_order_relaxed) == nullptr;
        try {
            add_to_list_locked(channel->list, core);
        } catch (...) {
            core.host.reset(); // not subscribed: the handle has nothing to unsubscribe
            remove_if_unused_locked(channel);
            throw;
        }
        ++subscriptions_;
        if (first) {
            channel_interest_locked(*channel, Interest::appeared);
        }
    }

    /// Lists `core` on the entry of `pattern` (made on first need). As `attach_exact`.
    void attach_pattern(const Pattern& pattern, SubscriptionCore& core, HostLink* link) {
        std::lock_guard lock(mutex_);
        if (closed_.load(std::memory_order_relaxed)) {
            throw broker_closed_error("herald: psubscribe on a broker that has shut down");
        }
        PatternEntry* entry = patterns_.find(pattern);
        const bool fresh = entry == nullptr;
        if (fresh) {
            if (pattern_entries_.size() == pattern_entries_.capacity()) {
                // Room first, so the push_back below cannot fail after the index insert.
                pattern_entries_.reserve(pattern_entries_.size() * 2 + 16);
            }
            {
                std::unique_lock patterns_lock(patterns_mutex_);
                entry = patterns_.try_emplace(pattern, pattern).first;
            }
            entry->position = pattern_entries_.size();
            pattern_entries_.push_back(entry);
            pattern_count_.store(pattern_entries_.size(), std::memory_order_relaxed);
        }
        core.owner = entry;
        core.host = link; // before the core is visible (attach_exact)
        try {
            add_to_list_locked(entry->list, core);
        } catch (...) {
            core.host.reset();
            remove_pattern_if_unused_locked(entry);
            throw;
        }
        ++subscriptions_;
        if (fresh) {
            pattern_interest_locked(*entry, Interest::appeared);
        }
    }

    /// Ends `core` with `state` (cancelled or disconnected) and unlists it; false if it had
    /// already ended. Its broker reference is dropped once no dispatch can reach it.
    bool detach(SubscriptionCore& core, SubscriptionState state) {
        std::lock_guard lock(mutex_);
        if (core.state.load(std::memory_order_relaxed) != SubscriptionState::active) {
            return false;
        }
        // No fence here: wait_for_invocations issues the heavy one (unless no other thread
        // uses herald) between this store and its reads of the dispatch records.
        core.state.store(state, state == SubscriptionState::cancelled ? std::memory_order_release
                                                                      : std::memory_order_seq_cst);
        detach_locked(core);
        return true;
    }

    /// A queued subscription that left its list and whose queue is settled: its drops move to
    /// the total of ended subscriptions.
    void fold_drops(QueuedCore& core) {
        std::lock_guard lock(mutex_);
        SubscriptionStats q;
        core.fill_stats(q);
        dropped_closed_ += q.dropped;
        core.drops_folded = true; // later drops: discarded_after_end
    }

    /// See SubscriptionHost::discarded_after_end.
    void discarded_after_end(QueuedCore& core) {
        std::lock_guard lock(mutex_);
        core.drops_discarded.fetch_add(1, std::memory_order_relaxed);
        if (core.drops_folded) {
            ++dropped_closed_; // the end already moved the other drops into the total
        }
    }

    // ---- publisher pins ------------------------------------------------------------------

    /// Holds the channel `name` (bound to `type`) for a publisher, so it can skip the lookup.
    Channel* pin(std::string_view name, const TypeKey& type) {
        std::lock_guard lock(mutex_);
        Channel* channel = find_or_create_locked(name, type);
        ++channel->pins;
        return channel;
    }

    void pin_again(Channel& channel) {
        std::lock_guard lock(mutex_);
        ++channel.pins;
    }

    void unpin(Channel& channel) noexcept {
        {
            std::lock_guard lock(mutex_);
            --channel.pins;
            remove_if_unused_locked(&channel);
        }
        reclaimer_.collect();
    }

    // ---- what the dispatcher reads (no lock) -----------------------------------------------

    /// The channel `name`, if it exists. The caller is inside a read-side critical section.
    Channel* find(std::string_view name) const noexcept {
        return table_.find(name, hash_channel(name));
    }

    /// The channel `name` whose `hash_channel` is `hash`. The caller is inside a read-side
    /// critical section.
    HERALD_ALWAYS_INLINE Channel* find(std::string_view name, std::size_t hash) const noexcept {
        return table_.find(name, hash);
    }

    /// Some pattern has a subscriber.
    bool has_patterns() const noexcept {
        return pattern_count_.load(std::memory_order_relaxed) != 0;
    }

    /// Calls `on_match(PatternEntry&)` for every pattern entry matching `name`.
    template <class F>
    void match(std::string_view name, F&& on_match) const {
        std::shared_lock lock(patterns_mutex_);
        patterns_.match(name, [&](const Pattern&, PatternEntry& entry) { on_match(entry); });
    }

    /// The entry of `pattern`, if it has subscriptions. The caller is inside a read-side
    /// critical section (entries are retired through the same reclamation as lists).
    PatternEntry* find_pattern(const Pattern& pattern) const {
        std::shared_lock lock(patterns_mutex_);
        return const_cast<PatternEntry*>(patterns_.find(pattern));
    }

    bool closed() const noexcept { return closed_.load(std::memory_order_relaxed); }

    /// The installed extension hooks, or null.
    BrokerHooks* hooks() const noexcept { return hooks_.load(std::memory_order_acquire); }

    EpochDomain& domain() const noexcept { return domain_; }
    Reclaimer<Concurrent>& reclaimer() noexcept { return reclaimer_; }

    // ---- extension hooks -----------------------------------------------------------------

    /// Installs `hooks`, first telling them of every channel and pattern that has
    /// subscriptions now. Throws std::logic_error if hooks are installed already.
    void install_hooks(BrokerHooks& hooks) {
        std::lock_guard lock(mutex_);
        if (hooks_.load(std::memory_order_relaxed) != nullptr) {
            throw std::logic_error("herald: this broker already has extension hooks installed");
        }
        table_.for_each([&](Channel* c) {
            if (c->list.load(std::memory_order_relaxed) != nullptr) {
                hooks.channel_interest(c->name, c->bound_type(), Interest::appeared);
            }
        });
        for (const PatternEntry* e : pattern_entries_) {
            hooks.pattern_interest(e->pattern, Interest::appeared);
        }
        hooks_.store(&hooks, std::memory_order_release);
    }

    /// Removes the hooks; returns them (null if none). Publishes may still be running them:
    /// the caller waits for a grace period before destroying them.
    BrokerHooks* remove_hooks() noexcept {
        std::lock_guard lock(mutex_);
        return hooks_.exchange(nullptr, std::memory_order_acq_rel);
    }

    // ---- introspection -------------------------------------------------------------------

    std::vector<std::string> channels(const std::string_view* glob) const {
        std::vector<std::string> out;
        std::lock_guard lock(mutex_);
        table_.for_each([&](Channel* c) {
            if (c->list.load(std::memory_order_relaxed) != nullptr &&
                (glob == nullptr || glob_match(*glob, c->name))) {
                out.push_back(c->name);
            }
        });
        std::sort(out.begin(), out.end());
        return out;
    }

    std::size_t numsub(std::string_view name) const {
        std::lock_guard lock(mutex_);
        const Channel* c = table_.find(name, hash_channel(name));
        if (c == nullptr) {
            return 0;
        }
        const SubscriberList* list = c->list.load(std::memory_order_relaxed);
        return list != nullptr ? list->size : 0;
    }

    std::size_t numpat() const {
        std::lock_guard lock(mutex_);
        return patterns_.size();
    }

    std::vector<Pattern> patterns() const {
        std::vector<Pattern> out;
        {
            std::lock_guard lock(mutex_);
            out.reserve(pattern_entries_.size());
            for (const PatternEntry* entry : pattern_entries_) {
                out.push_back(entry->pattern);
            }
        }
        std::sort(out.begin(), out.end(), [](const Pattern& a, const Pattern& b) {
            if (a.kind() != b.kind()) {
                return a.kind() < b.kind();
            }
            if (a.text() != b.text()) {
                return a.text() < b.text();
            }
            return a.separator() < b.separator();
        });
        return out;
    }

    std::uint64_t pattern_evaluations() const {
        std::shared_lock lock(patterns_mutex_);
        return patterns_.evaluations();
    }

    /// The counters of one subscription.
    SubscriptionStats subscription_stats(const SubscriptionCore& core) const {
        std::lock_guard lock(mutex_);
        SubscriptionStats s;
        s.active = core.is_active();
        s.skipped = core.skipped.load(std::memory_order_relaxed);
        s.errors = core.errors.load(std::memory_order_relaxed);
        fill_gate_stats(core, s);
        if (const QueuedCore* q = queued_part(core)) {
            q->fill_stats(s);
            return s;
        }
        std::uint64_t offered = core.offered_closed.load(std::memory_order_relaxed);
        if (s.active) {
            offered += live_count(*owner_list(core).load(std::memory_order_acquire));
        }
        s.delivered = offered - s.skipped - s.errors - s.filtered - s.duplicates;
        return s;
    }

    /// The registry's share of the broker's counters (the rest are the dispatcher's and the
    /// error sink's).
    BrokerStats stats() const {
        std::lock_guard lock(mutex_);
        BrokerStats s;
        std::uint64_t live = 0;
        std::uint64_t live_drops = 0;
        const auto add_list = [&](const SubscriberList* l) {
            live += live_count(*l);
            for (std::uint32_t i = 0; i < l->size; ++i) {
                if (const QueuedCore* q = queued_part(*l->items()[i])) {
                    SubscriptionStats qs;
                    q->fill_stats(qs);
                    live_drops += qs.dropped;
                }
            }
        };
        table_.for_each([&](Channel* c) {
            if (const SubscriberList* l = c->list.load(std::memory_order_relaxed)) {
                ++s.channels;
                add_list(l);
            }
        });
        for (const PatternEntry* e : pattern_entries_) {
            add_list(e->list.load(std::memory_order_relaxed));
        }
        s.patterns = patterns_.size();
        s.subscriptions = subscriptions_;
        s.dispatched = dispatched_closed_ + live;
        s.dropped = dropped_closed_ + live_drops;
        return s;
    }

    // ---- shutdown ------------------------------------------------------------------------

    /// Refuses further subscribes and makes publishes deliver to nobody; false if it was
    /// closed already.
    bool close() noexcept { return !closed_.exchange(true, std::memory_order_seq_cst); }

    /// Every queued subscription listed now, each with a reference the caller releases.
    std::vector<QueuedCore*> queued_subscriptions() {
        std::vector<QueuedCore*> queues;
        std::lock_guard lock(mutex_);
        const auto gather = [&](const SubscriberList* list) {
            if (list == nullptr) {
                return;
            }
            for (std::uint32_t i = 0; i < list->size; ++i) {
                if (QueuedCore* q = queued_part(*list->items()[i])) {
                    q->add_ref();
                    queues.push_back(q);
                }
            }
        };
        table_.for_each([&](Channel* c) { gather(c->list.load(std::memory_order_relaxed)); });
        for (PatternEntry* e : pattern_entries_) {
            gather(e->list.load(std::memory_order_relaxed));
        }
        return queues;
    }

    /// After `close` and a grace period: ends every subscription (orphaned) and unlists every
    /// channel and pattern; returns everything to destroy, outside the lock (handlers'
    /// destructors may call back into the broker).
    Garbage orphan_all() {
        Garbage garbage;
        std::lock_guard lock(mutex_);
        std::vector<Channel*> channels;
        table_.for_each([&](Channel* c) { channels.push_back(c); });
        for (Channel* c : channels) {
            if (c->list.load(std::memory_order_relaxed) != nullptr) {
                channel_interest_locked(*c, Interest::gone);
            }
            orphan_list_locked(c->list.exchange(nullptr, std::memory_order_relaxed), garbage);
            table_.erase(c);
            if (c->pins == 0) {
                garbage.push_back({c, &Channel::destroy, 0});
            } else {
                orphaned_channels_.push_back(c); // freed when the last publisher unpins
            }
        }
        {
            std::unique_lock patterns_lock(patterns_mutex_);
            for (PatternEntry* e : pattern_entries_) {
                pattern_interest_locked(*e, Interest::gone);
                orphan_list_locked(e->list.exchange(nullptr, std::memory_order_relaxed), garbage);
                const auto taken = patterns_.extract(e->pattern);
                garbage.push_back({taken.entry, taken.destroy, 0});
            }
            pattern_entries_.clear();
            pattern_count_.store(0, std::memory_order_relaxed);
        }
        subscriptions_ = 0;
        spare_.clear(); // those channels were in the table: destroyed above
        for (auto& e : reclaimer_.take_all()) {
            garbage.push_back(e);
        }
        return garbage;
    }

private:
    Channel* find_or_create_locked(std::string_view name, const TypeKey& type) {
        const std::size_t h = hash_channel(name);
        if (Channel* c = table_.find(name, h)) {
            const bool unused = c->list.load(std::memory_order_relaxed) == nullptr && c->pins == 0;
            if (!(c->bound_type() == type)) {
                if (!unused) {
                    throw type_mismatch_error(name, c->bound_type().name, type.name);
                }
                c->type.store(&type, std::memory_order_release); // free again: rebind
            }
            c->spare = false;
            return c;
        }
        auto fresh = std::make_unique<Channel>(name, h, type);
        table_.insert(fresh.get(), [this](void* p, void (*destroy)(void*) noexcept) {
            reclaimer_.retire(p, destroy);
        });
        return fresh.release();
    }

    void add_to_list_locked(std::atomic<SubscriberList*>& head, SubscriptionCore& core) {
        SubscriberList* old = head.load(std::memory_order_relaxed);
        const std::uint32_t n = old != nullptr ? old->size : 0;
        SubscriberList* fresh = SubscriberList::create(n + 1, 0);
        bool envelope = core.wants_envelope;
        for (std::uint32_t i = 0; i < n; ++i) {
            fresh->items()[i] = old->items()[i];
            envelope = envelope || old->items()[i]->wants_envelope;
        }
        fresh->items()[n] = &core;
        fresh->wants_envelope = envelope;
        core.add_ref(); // the broker's reference
        replace_list_locked(head, fresh);
    }

    /// Removes `core` from its owner's list; drops the owner when nothing uses it.
    void detach_locked(SubscriptionCore& core) {
        std::atomic<SubscriberList*>& head = owner_list(core);
        SubscriberList* old = head.load(std::memory_order_relaxed);
        SubscriberList* fresh = nullptr;
        if (old->size > 1) {
            fresh = SubscriberList::create(old->size - 1, 0);
            std::uint32_t k = 0;
            bool envelope = false;
            for (std::uint32_t i = 0; i < old->size; ++i) {
                if (old->items()[i] != &core) {
                    fresh->items()[k++] = old->items()[i];
                    envelope = envelope || old->items()[i]->wants_envelope;
                }
            }
            fresh->wants_envelope = envelope;
        }
        replace_list_locked(head, fresh);
        --subscriptions_;
        // Older lists may still be read by dispatches in flight: drop the broker's reference
        // only once they are reclaimed.
        reclaimer_.retire(&core, &SubscriptionCore::release_from_broker);
        if (core.pattern_subscription) {
            auto* entry = static_cast<PatternEntry*>(const_cast<void*>(core.owner));
            if (fresh == nullptr) {
                pattern_interest_locked(*entry, Interest::gone);
            }
            remove_pattern_if_unused_locked(entry);
        } else {
            auto* channel = static_cast<Channel*>(const_cast<void*>(core.owner));
            if (fresh == nullptr) {
                channel_interest_locked(*channel, Interest::gone);
            }
            remove_if_unused_locked(channel);
        }
    }

    static std::atomic<SubscriberList*>& owner_list(const SubscriptionCore& core) noexcept {
        if (core.pattern_subscription) {
            return static_cast<PatternEntry*>(const_cast<void*>(core.owner))->list;
        }
        return static_cast<Channel*>(const_cast<void*>(core.owner))->list;
    }

    /// Publishes `fresh` in place of the current list, closing the old one so its count is
    /// final and `fresh` continues its sequence.
    void replace_list_locked(std::atomic<SubscriberList*>& head, SubscriberList* fresh) {
        SubscriberList* old = head.load(std::memory_order_relaxed);
        if (old != nullptr) {
            const std::uint64_t count = close_list<Concurrent>(domain_, *old, fresh);
            for (std::uint32_t i = 0; i < old->size; ++i) {
                old->items()[i]->add_offered(count);
            }
            dispatched_closed_ += count;
        }
        head.store(fresh, std::memory_order_release);
        if (old != nullptr) {
            reclaimer_.retire(old, &SubscriberList::destroy);
        }
    }

    void remove_if_unused_locked(Channel* channel) noexcept {
        if (channel->list.load(std::memory_order_relaxed) != nullptr || channel->pins != 0) {
            return;
        }
        if (closed_.load(std::memory_order_relaxed)) {
            // Shut down: the channel already left the table; the last publisher frees it.
            auto it = std::find(orphaned_channels_.begin(), orphaned_channels_.end(), channel);
            if (it != orphaned_channels_.end()) {
                orphaned_channels_.erase(it);
                Channel::destroy(channel);
            }
            return;
        }
        // Keep a few unused channels for reuse: a subscribe/unsubscribe cycle on one name
        // then costs no channel allocation and no table churn. Beyond the bound they all go.
        if (!channel->spare) {
            channel->spare = true;
            spare_.push_back(channel);
        }
        if (spare_.size() > spare_limit) {
            for (Channel* c : spare_) {
                if (c->spare) { // a reused channel may be listed twice: erase it once
                    c->spare = false;
                    table_.erase(c, [this](void* p, void (*destroy)(void*) noexcept) {
                        reclaimer_.retire(p, destroy);
                    });
                    reclaimer_.retire(c, &Channel::destroy);
                }
            }
            spare_.clear();
        }
    }

    void remove_pattern_if_unused_locked(PatternEntry* entry) {
        if (entry->list.load(std::memory_order_relaxed) != nullptr) {
            return;
        }
        typename PatternIndex<PatternEntry>::Extracted taken;
        {
            std::unique_lock patterns_lock(patterns_mutex_);
            taken = patterns_.extract(entry->pattern); // `entry` lives on inside `taken`
        }
        PatternEntry* last = pattern_entries_.back();
        pattern_entries_[entry->position] = last;
        last->position = entry->position;
        pattern_entries_.pop_back();
        pattern_count_.store(pattern_entries_.size(), std::memory_order_relaxed);
        reclaimer_.retire(taken.entry, taken.destroy);
    }

    void orphan_list_locked(SubscriberList* list, Garbage& garbage) {
        if (list == nullptr) {
            return;
        }
        const std::uint64_t count = live_count(*list);
        for (std::uint32_t i = 0; i < list->size; ++i) {
            SubscriptionCore* s = list->items()[i];
            s->add_offered(count);
            s->state.store(SubscriptionState::orphaned, std::memory_order_seq_cst);
            if (QueuedCore* q = queued_part(*s)) {
                q->notify_blocked(); // parked waiters: woken by shutdown, outside this lock
                SubscriptionStats qs;
                q->fill_stats(qs);
                dropped_closed_ += qs.dropped; // settled: no publish can reach it any more
                q->drops_folded = true;
            }
            garbage.push_back({s, &SubscriptionCore::release_from_broker, 0});
        }
        dispatched_closed_ += count;
        garbage.push_back({list, &SubscriberList::destroy, 0});
    }

    void channel_interest_locked(const Channel& channel, Interest interest) {
        if (BrokerHooks* h = hooks_.load(std::memory_order_relaxed)) {
            h->channel_interest(channel.name, channel.bound_type(), interest);
        }
    }

    void pattern_interest_locked(const PatternEntry& entry, Interest interest) {
        if (BrokerHooks* h = hooks_.load(std::memory_order_relaxed)) {
            h->pattern_interest(entry.pattern, interest);
        }
    }

    EpochDomain& domain_;
    mutable Mutex mutex_;                // the writer lock
    mutable SharedMutex patterns_mutex_; // the pattern index: shared to match, unique to change
    ChannelTable<Channel> table_;
    PatternIndex<PatternEntry> patterns_; // owns the entries (see PatternEntry)
    std::vector<PatternEntry*> pattern_entries_;
    std::vector<Channel*> orphaned_channels_;
    std::atomic<std::size_t> pattern_count_{0};
    std::atomic<bool> closed_{false};
    std::atomic<BrokerHooks*> hooks_{nullptr};
    std::size_t subscriptions_ = 0;
    static constexpr std::size_t spare_limit = 64;
    std::vector<Channel*> spare_; // unused channels kept for reuse (remove_if_unused_locked)
    std::uint64_t dispatched_closed_ = 0;
    std::uint64_t dropped_closed_ = 0; // drops of queued subscriptions that have ended
    Reclaimer<Concurrent> reclaimer_;
};

} // namespace detail
HERALD_NAMESPACE_END
