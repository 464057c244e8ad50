#pragma once
/// \file
/// `herald::Broker`: channels, typed topics, patterns and the one data path that serves them.

#include <herald/detail/channel_table.hpp>
#include <herald/detail/core.hpp>
#include <herald/detail/epoch.hpp>
#include <herald/detail/hooks.hpp>
#include <herald/detail/pattern_index.hpp>
#include <herald/detail/queue_core.hpp>
#include <herald/detail/type_key.hpp>
#include <herald/errors.hpp>
#include <herald/fwd.hpp>
#include <herald/mailbox.hpp>
#include <herald/message.hpp>
#include <herald/pattern.hpp>
#include <herald/queue.hpp>
#include <herald/stats.hpp>
#include <herald/subscription.hpp>
#include <herald/topic.hpp>

#include <algorithm>
#include <any>
#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

HERALD_NAMESPACE_BEGIN

/// Concurrency policy (the default): every member function may be called from any thread.
struct thread_safe {};
/// Concurrency policy for a broker used by one thread only: no locks and no atomic
/// read-modify-writes. Re-entrant use from handlers stays safe.
struct single_threaded {};

/// A handler that takes the bare payload: callable with `const T&`.
template <class H, class T>
concept PayloadHandler = std::invocable < std::decay_t<H>
&, const T& > ;

/// A handler that takes the envelope: callable with `const herald::Message<T>&`.
template <class H, class T>
concept EnvelopeHandler = std::invocable < std::decay_t<H>
&, const Message<T>& > ;

/// What `subscribe` accepts for payload type `T`: a callable taking `const T&` or
/// `const herald::Message<T>&`.
template <class H, class T>
concept Handler = (PayloadHandler<H, T> ||
                   EnvelopeHandler<H, T>)&&std::constructible_from<std::decay_t<H>, H>;

/// What may be published to a `Topic<T>`: a `T` itself, or, for string payloads, anything
/// that is a string (a literal, a `std::string_view`). Anything else is a compile error.
template <class U, class T>
concept PublishableTo = std::same_as<std::remove_cvref_t<U>, T> ||
    (std::same_as<T, std::string>&& std::convertible_to<U, std::string_view>);

/// What the dead-letter channel receives when a handler throws (see `BrokerOptions`).
struct DeadLetter {
    std::string channel;           ///< where the failed message was published
    std::string pattern;           ///< the pattern, for a pattern subscription
    std::uint64_t subscription_id; ///< the failing subscription
    std::exception_ptr error;      ///< what it threw
    std::any payload;              ///< a copy of the payload (empty for non-copyable payloads)
};

/// Construction-time settings of a broker.
struct BrokerOptions {
    /// What happens when a handler throws.
    ExceptionPolicy exception_policy = ExceptionPolicy::isolate;
    /// Deepest nesting of publish-from-a-handler allowed; a deeper publish throws
    /// `dispatch_depth_error` (reported, never a stack overflow). At most
    /// `HERALD_MAX_DISPATCH_DEPTH` (1024 unless defined otherwise).
    std::size_t max_depth = 256;
    /// When not empty, every message whose handler threw is also published there as a
    /// `DeadLetter` (failures on the dead-letter channel itself are only counted).
    std::string dead_letter_channel;
    /// Threads of the worker pool that runs queued subscriptions on the default executor,
    /// started with the first such subscription (thread_safe brokers only).
    std::size_t workers = 1;
};

namespace detail {

struct BrokerAccess;

/// Which receivers of a publish `BrokerImpl::publish_local` reaches.
enum class LocalTarget : std::uint8_t {
    all,     ///< exact subscribers and every matching pattern, as `publish`
    exact,   ///< the channel's exact subscribers only
    pattern, ///< the subscribers of one pattern only
};

/// A process-wide unique subscription id. Threads take ids in blocks, so subscribing costs no
/// read-modify-write on a shared counter.
inline std::uint64_t next_subscription_id() noexcept {
    static std::atomic<std::uint64_t> next_block{1};
    constexpr std::uint64_t block = 1024;
    thread_local std::uint64_t next = 0;
    thread_local std::uint64_t end = 0;
    if (next == end) {
        next = next_block.fetch_add(block, std::memory_order_relaxed);
        end = next + block;
    }
    return next++;
}

struct NullMutex {
    void lock() noexcept {}
    void unlock() noexcept {}
    bool try_lock() noexcept { return true; }
    void lock_shared() noexcept {}
    void unlock_shared() noexcept {}
};

template <class T>
std::any payload_as_any(const void* payload) {
    if constexpr (std::is_copy_constructible_v<T>) {
        return std::any(*static_cast<const T*>(payload));
    } else {
        return {};
    }
}

template <class T>
inline constexpr PayloadOps payload_ops{&type_key<T>, &make_queue_node<T>, &payload_as_any<T>};

/// A subscription whose handler runs on the publishing thread. The handler lives in place
/// (no `std::optional`: the core's `handler_alive` says whether it is still there), so a
/// subscription with a small handler is one 72-byte allocation.
template <class T, class H>
struct InlineSubscription final : SubscriptionCore {
    static constexpr bool envelope = !PayloadHandler<H, T>;

    template <class F>
    explicit InlineSubscription(F&& f) : SubscriptionCore(table(), envelope) {
        ::new (static_cast<void*>(&storage.handler)) H(std::forward<F>(f));
    }
    InlineSubscription(const InlineSubscription&) = delete;
    InlineSubscription& operator=(const InlineSubscription&) = delete;
    ~InlineSubscription() { drop_one(this); }

    static const CoreOps& table() noexcept {
        static constexpr CoreOps ops{&deliver_one, &drop_one, &destroy_one, &type_key<T>, nullptr};
        return ops;
    }

    static bool deliver_one(SubscriptionCore& base, Delivery& d) {
        auto& self = static_cast<InlineSubscription&>(base);
        const T& payload = *static_cast<const T*>(d.payload);
        try {
            if constexpr (envelope) {
                self.storage.handler(
                    Message<T>{d.kind, d.pattern, d.channel, payload, d.sequence, d.published_at});
            } else {
                self.storage.handler(payload);
            }
        } catch (...) {
            d.broker->handler_failed(base, d);
        }
        return true;
    }

    /// Destroys the handler (once): when the broker lets go, or with the subscription.
    static void drop_one(SubscriptionCore* base) noexcept {
        auto* self = static_cast<InlineSubscription*>(base);
        if (self->handler_alive) {
            self->handler_alive = false;
            self->storage.handler.~H();
        }
    }

    static void destroy_one(SubscriptionCore* base) noexcept {
        delete static_cast<InlineSubscription*>(base);
    }

    union Storage {
        Storage() noexcept {}
        ~Storage() {}
        H handler;
    } storage;
};

/// A subscription whose handler runs from its bounded queue (workers, executor or poll).
template <class T, class H>
struct QueuedSubscription final : QueuedCore {
    static constexpr bool envelope = !PayloadHandler<H, T>;

    template <class F>
    QueuedSubscription(F&& f, queued opts, bool concurrent_broker)
        : QueuedCore(&run_one, &drop_one, &destroy_one, type_key<T>, envelope, std::move(opts),
                     concurrent_broker),
          handler(std::in_place, std::forward<F>(f)) {}

    static bool run_one(QueuedCore& base, const QueueItem& item) {
        auto& self = static_cast<QueuedSubscription&>(base);
        const T& payload = *static_cast<const T*>(item.node->payload);
        const MessageKind kind =
            self.pattern_subscription ? MessageKind::pmessage : MessageKind::message;
        try {
            if constexpr (envelope) {
                (*self.handler)(Message<T>{kind, self.pattern_text, item.node->channel(), payload,
                                           item.sequence, item.node->published_at});
            } else {
                (*self.handler)(payload);
            }
            return true;
        } catch (...) {
            if (auto owner = self.broker.lock()) {
                Delivery d;
                d.kind = kind;
                d.pattern = self.pattern_text;
                d.channel = item.node->channel();
                d.payload = &payload;
                d.ops = &payload_ops<T>;
                d.broker = owner.get();
                owner->handler_failed(self, d); // rethrow_after acts as isolate off-thread
            } else {
                self.errors.fetch_add(1, std::memory_order_relaxed);
            }
            return false;
        }
    }

    static void drop_one(SubscriptionCore* base) noexcept {
        static_cast<QueuedSubscription*>(base)->handler.reset();
    }
    static void destroy_one(SubscriptionCore* base) noexcept {
        delete static_cast<QueuedSubscription*>(base);
    }

    std::optional<H> handler;
};

/// A queued subscription without a handler: a `Mailbox<T>` receives from it.
template <class T>
struct MailboxCore final : QueuedCore {
    MailboxCore(queued opts, bool concurrent_broker)
        : QueuedCore(nullptr, &drop_none, &destroy_one, type_key<T>, true, std::move(opts),
                     concurrent_broker) {}
    static void drop_none(SubscriptionCore*) noexcept {}
    static void destroy_one(SubscriptionCore* base) noexcept {
        delete static_cast<MailboxCore*>(base);
    }
};

/// A channel with at least one exact subscriber or one pinned publisher.
struct Channel {
    Channel(std::string_view n, std::size_t h, const TypeKey& t) : name(n), hash_(h), type(&t) {}
    const TypeKey& bound_type() const noexcept { return *type.load(std::memory_order_acquire); }
    std::string_view key() const noexcept { return name; }
    std::size_t hash() const noexcept { return hash_; }
    static void destroy(void* p) noexcept { delete static_cast<Channel*>(p); }

    std::string name;
    std::size_t hash_;
    // The payload type, rebound only while the channel is unused (no list, no pins); a new
    // binding is stored before the list that makes it visible (see dispatch_list).
    std::atomic<const TypeKey*> type;
    std::atomic<SubscriberList*> list{nullptr};
    std::uint32_t pins = 0; // publishers holding this channel (writer lock)
    bool idle = false;      // unused, kept for reuse in BrokerImpl::idle_ (writer lock)
};

/// A distinct pattern with at least one subscriber. Stored in the broker's PatternIndex itself,
/// so that a match reaches it with no further pointer to follow; taken out with
/// PatternIndex::extract and destroyed through the same reclamation as lists.
struct PatternEntry {
    explicit PatternEntry(const Pattern& p) : pattern(p) {}

    Pattern pattern;
    std::atomic<SubscriberList*> list{nullptr};
    std::size_t position = 0; // in BrokerImpl::pattern_entries_ (writer lock)
};

/// Stands in for the dispatch mark in a single-threaded broker, which keeps none.
struct NoDispatchSlot {
    explicit NoDispatchSlot(ThreadRecord*) noexcept {}
};

inline std::size_t hash_channel(std::string_view name) noexcept {
    return std::hash<std::string_view>{}(name);
}

template <class Policy>
class BrokerImpl final : public BrokerImplBase,
                         public std::enable_shared_from_this<BrokerImpl<Policy>> {
public:
    static constexpr bool concurrent = std::is_same_v<Policy, thread_safe>;
    using Mutex = std::conditional_t<concurrent, std::mutex, NullMutex>;
    using SharedMutex = std::conditional_t<concurrent, std::shared_mutex, NullMutex>;

    explicit BrokerImpl(BrokerOptions options)
        : options_(std::move(options)), domain_(EpochDomain::instance()), retired_(domain_) {
        if (options_.max_depth == 0 || options_.max_depth > max_dispatch_depth) {
            throw std::invalid_argument("herald: BrokerOptions::max_depth must be between 1 and " +
                                        std::to_string(max_dispatch_depth));
        }
        if (options_.workers == 0) {
            throw std::invalid_argument("herald: BrokerOptions::workers must be at least 1");
        }
    }

    ~BrokerImpl() override {
        shutdown();
        if (link_ != nullptr) {
            link_->release();
        }
    }

    // ---- writers -------------------------------------------------------------------------

    template <class T, class H>
    Subscription subscribe(std::string_view name, H&& handler) {
        auto* core = new InlineSubscription<T, std::decay_t<H>>(std::forward<H>(handler));
        return attach_exact(name, type_key<T>, core);
    }

    template <class T, class H>
    Subscription psubscribe(Pattern pattern, H&& handler) {
        auto* core = new InlineSubscription<T, std::decay_t<H>>(std::forward<H>(handler));
        core->pattern_subscription = true;
        return attach_pattern(std::move(pattern), core);
    }

    template <class T, class H>
    Subscription subscribe_queued(std::string_view name, H&& handler, queued options) {
        check_executor(options);
        auto* core = new QueuedSubscription<T, std::decay_t<H>>(std::forward<H>(handler),
                                                                std::move(options), concurrent);
        return attach_exact(name, type_key<T>, core, core);
    }

    template <class T, class H>
    Subscription psubscribe_queued(Pattern pattern, H&& handler, queued options) {
        check_executor(options);
        auto* core = new QueuedSubscription<T, std::decay_t<H>>(std::forward<H>(handler),
                                                                std::move(options), concurrent);
        core->pattern_subscription = true;
        core->pattern_text = pattern.text();
        return attach_pattern(std::move(pattern), core, core);
    }

    template <class T>
    Mailbox<T> mailbox(std::string_view name, queued options) {
        prepare_mailbox(options);
        auto* core = new MailboxCore<T>(std::move(options), concurrent);
        return Mailbox<T>(attach_exact(name, type_key<T>, core, core), core);
    }

    template <class T>
    Mailbox<T> pmailbox(Pattern pattern, queued options) {
        prepare_mailbox(options);
        auto* core = new MailboxCore<T>(std::move(options), concurrent);
        core->pattern_subscription = true;
        core->pattern_text = pattern.text();
        return Mailbox<T>(attach_pattern(std::move(pattern), core, core), core);
    }

    void unsubscribe(SubscriptionCore& core) override {
        {
            std::lock_guard lock(mutex_);
            if (core.state.load(std::memory_order_relaxed) != SubscriptionState::active) {
                return;
            }
            // No fence here: wait_for_invocations issues the heavy one (unless no other
            // thread uses herald) between this store and its reads of the dispatch records.
            core.state.store(SubscriptionState::cancelled, std::memory_order_release);
            detach_locked(core);
        }
        if constexpr (concurrent) {
            // Outside the lock: handlers running elsewhere may themselves subscribe.
            wait_for_invocations(domain_, &core);
        }
        if (core.queue() != nullptr) {
            core.queue()->cancelled(core, true); // pending messages: discarded and counted
            fold_drops(core);
        }
        collect();
    }

    void disconnect(SubscriptionCore& core, std::string_view channel) override {
        {
            std::lock_guard lock(mutex_);
            if (core.state.load(std::memory_order_relaxed) != SubscriptionState::active) {
                return;
            }
            core.state.store(SubscriptionState::disconnected, std::memory_order_seq_cst);
            detach_locked(core);
        }
        // The queue goes with the subscription; its messages count as disconnected drops.
        auto& q = static_cast<QueuedCore&>(core);
        QueueItem item;
        while (q.pop(item)) {
            item.node->release();
            q.drops_disconnected.fetch_add(1, std::memory_order_relaxed);
        }
        q.wake_waiters();
        fold_drops(core);
        report(ErrorInfo{ErrorKind::queue_disconnect, channel, q.pattern_text, core.id, nullptr});
        collect();
    }

    void discarded_after_end(SubscriptionCore& core) override {
        auto& q = static_cast<QueuedCore&>(core);
        std::lock_guard lock(mutex_);
        q.drops_discarded.fetch_add(1, std::memory_order_relaxed);
        if (q.drops_folded) {
            ++dropped_closed_; // the end already moved the other drops into the total
        }
    }

    void begin_callback() noexcept override {
        if constexpr (!concurrent) {
            ++depth_;
        }
    }
    void end_callback() noexcept override {
        if constexpr (!concurrent) {
            if (--depth_ == 0) {
                collect();
            }
        }
    }

    SubscriptionStats stats(const SubscriptionCore& core) const override {
        std::lock_guard lock(mutex_);
        SubscriptionStats s;
        if (core.queue() != nullptr) {
            core.queue()->stats(core, s);
            s.active = core.is_active();
            s.skipped = core.skipped.load(std::memory_order_relaxed);
            s.errors = core.errors.load(std::memory_order_relaxed);
            return s;
        }
        std::uint64_t offered = core.offered_closed.load(std::memory_order_relaxed);
        s.active = core.is_active();
        if (s.active) {
            const SubscriberList* list = owner_list(core).load(std::memory_order_acquire);
            offered +=
                (list->counter.load(std::memory_order_relaxed) & ~SubscriberList::closed_bit) -
                list->base;
        }
        s.skipped = core.skipped.load(std::memory_order_relaxed);
        s.errors = core.errors.load(std::memory_order_relaxed);
        s.delivered = offered - s.skipped - s.errors;
        return s;
    }

    void handler_failed(SubscriptionCore& core, Delivery& d) override {
        core.errors.fetch_add(1, std::memory_order_relaxed);
        errors_.fetch_add(1, std::memory_order_relaxed);
        if (options_.exception_policy == ExceptionPolicy::terminate) {
            std::terminate();
        }
        std::exception_ptr error = std::current_exception();
        if (options_.exception_policy == ExceptionPolicy::rethrow_after && !d.first_error) {
            d.first_error = error;
        }
        report(ErrorInfo{ErrorKind::handler_exception, d.channel, d.pattern, core.id, error});
        if (!options_.dead_letter_channel.empty() && d.channel != options_.dead_letter_channel &&
            d.ops != nullptr) {
            DeadLetter letter{std::string(d.channel), std::string(d.pattern), core.id, error,
                              d.ops->as_any(d.payload)};
            try {
                publish<DeadLetter>(options_.dead_letter_channel, nullptr, letter, &letter);
            } catch (...) {
                // The dead-letter channel is bound to another type or nesting is too deep:
                // the failure itself is already counted and reported above.
            }
        }
    }

    void set_error_hook(std::function<void(const ErrorInfo&)> hook) {
        auto shared =
            hook ? std::make_shared<const std::function<void(const ErrorInfo&)>>(std::move(hook))
                 : nullptr;
        std::lock_guard lock(hook_mutex_);
        hook_ = std::move(shared);
    }

    /// Reports `info` to the error hook (for extensions: failures they detect off the path).
    void report_error(const ErrorInfo& info) noexcept { report(info); }

    // ---- extension hooks -----------------------------------------------------------------

    /// Installs `hooks`, first replaying `appeared` for every channel with exact subscribers
    /// and every pattern, under the writer lock (so a count kept from them starts exact).
    /// Throws std::logic_error if hooks are installed already.
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

    /// Removes the hooks; returns once no publish still runs one of their members. Not from
    /// inside a handler.
    void remove_hooks() noexcept {
        {
            std::lock_guard lock(mutex_);
            hooks_.store(nullptr, std::memory_order_release);
        }
        if constexpr (concurrent) {
            wait_for_grace_period(domain_);
        }
    }

    // ---- the data path -------------------------------------------------------------------

    /// Publishes on `name` (or on the pinned `channel`, skipping the lookup). `movable`, when
    /// not null, is the same object as `payload` and may be moved from into a queue node.
    template <class T>
    std::size_t publish(std::string_view name, Channel* channel, const T& payload, T* movable) {
        return enter<T, true>(name, channel, payload, movable, LocalTarget::all, nullptr);
    }

    /// Delivers to this broker's own subscribers, skipping the hooks (an extension handing
    /// over a message it received from elsewhere). `target` narrows the receivers to the
    /// channel's exact subscribers or to those of `*pattern`.
    template <class T>
    std::size_t publish_local(std::string_view name, const T& payload, T* movable,
                              LocalTarget target = LocalTarget::all,
                              const Pattern* pattern = nullptr) {
        return enter<T, false>(name, nullptr, payload, movable, target, pattern);
    }

    Channel* pin(std::string_view name, const TypeKey& type) {
        std::lock_guard lock(mutex_);
        Channel* channel = find_or_create_locked(name, type);
        ++channel->pins;
        return channel;
    }

    void pin_again(Channel* channel) {
        std::lock_guard lock(mutex_);
        ++channel->pins;
    }

    void unpin(Channel* channel) noexcept {
        {
            std::lock_guard lock(mutex_);
            --channel->pins;
            remove_if_unused_locked(channel);
        }
        collect();
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

    BrokerStats stats() const {
        std::lock_guard lock(mutex_);
        BrokerStats s;
        std::uint64_t live = 0;
        std::uint64_t live_drops = 0;
        const auto add_list = [&](const SubscriberList* l) {
            live += (l->counter.load(std::memory_order_relaxed) & ~SubscriberList::closed_bit) -
                    l->base;
            for (std::uint32_t i = 0; i < l->size; ++i) {
                if (const SubscriptionCore* c = l->items()[i]; c->queue() != nullptr) {
                    SubscriptionStats q;
                    c->queue()->stats(*c, q);
                    live_drops += q.dropped;
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
        s.errors = errors_.load(std::memory_order_relaxed);
        s.depth_exceeded = depth_exceeded_.load(std::memory_order_relaxed);
        s.type_mismatches = type_mismatches_.load(std::memory_order_relaxed);
        return s;
    }

    std::uint64_t pattern_evaluations() const {
        std::shared_lock lock(patterns_mutex_);
        return patterns_.evaluations();
    }

    const BrokerOptions& options() const noexcept { return options_; }

    /// Ends every subscription and refuses further publishes. Idempotent.
    void shutdown(ShutdownMode mode = ShutdownMode::drain) noexcept {
        if (closed_.exchange(true, std::memory_order_seq_cst)) {
            return;
        }
        if constexpr (concurrent) {
            wait_for_grace_period(domain_);
        }
        settle_queues(mode);
        // No dispatch can run any more: gather everything, then destroy it outside the lock
        // (handlers' destructors may call back into this broker).
        std::vector<RetireList::Entry> garbage;
        {
            std::lock_guard lock(mutex_);
            std::vector<Channel*> channels;
            table_.for_each([&](Channel* c) { channels.push_back(c); });
            BrokerHooks* hooks = hooks_.load(std::memory_order_relaxed);
            for (Channel* c : channels) {
                if (hooks != nullptr && c->list.load(std::memory_order_relaxed) != nullptr) {
                    hooks->channel_interest(c->name, c->bound_type(), Interest::gone);
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
                    if (hooks != nullptr) {
                        hooks->pattern_interest(e->pattern, Interest::gone);
                    }
                    orphan_list_locked(e->list.exchange(nullptr, std::memory_order_relaxed),
                                       garbage);
                    const auto taken = patterns_.extract(e->pattern);
                    garbage.push_back({taken.entry, taken.destroy, 0});
                }
                pattern_entries_.clear();
                pattern_count_.store(0, std::memory_order_relaxed);
            }
            subscriptions_ = 0;
            idle_.clear(); // those channels were in the table: destroyed above
            for (auto& e : retired_.take_all()) {
                garbage.push_back(e);
            }
            for (auto& e : std::exchange(deferred_, {})) {
                garbage.push_back(e);
            }
        }
        if (pool_) {
            pool_->stop(); // every turn is settled: the workers only have stale tasks left
        }
        RetireList::destroy_all(std::move(garbage));
        collect(); // what the destructors above retired in turn
    }

    /// Shutdown, queued part: no publish can enqueue any more; take every queue's consumer
    /// turn for good and deliver (drain) or drop (discard) what is left. Mailboxes keep
    /// their messages under `drain` for their receivers.
    void settle_queues(ShutdownMode mode) noexcept {
        std::vector<QueuedCore*> queues;
        {
            std::lock_guard lock(mutex_);
            auto gather = [&](const SubscriberList* list) {
                if (list == nullptr) {
                    return;
                }
                for (std::uint32_t i = 0; i < list->size; ++i) {
                    if (list->items()[i]->queue() != nullptr) {
                        auto* q = static_cast<QueuedCore*>(list->items()[i]);
                        q->add_ref();
                        queues.push_back(q);
                    }
                }
            };
            table_.for_each([&](Channel* c) { gather(c->list.load(std::memory_order_relaxed)); });
            for (PatternEntry* e : pattern_entries_) {
                gather(e->list.load(std::memory_order_relaxed));
            }
        }
        for (QueuedCore* q : queues) {
            if (consuming_now() != q) { // not from inside its own handler
                q->seize_turn();
                if (mode == ShutdownMode::discard) {
                    q->discard_all();
                } else if (q->run != nullptr) {
                    q->drain(static_cast<std::size_t>(-1));
                }
            }
        }
        for (QueuedCore* q : queues) {
            q->release();
        }
    }

    bool closed() const noexcept { return closed_.load(std::memory_order_relaxed); }

private:
    struct DepthGuard {
        explicit DepthGuard(BrokerImpl& b) noexcept : broker(b) { ++broker.depth_; }
        DepthGuard(const DepthGuard&) = delete;
        DepthGuard& operator=(const DepthGuard&) = delete;
        ~DepthGuard() {
            if (--broker.depth_ == 0 && !broker.deferred_.empty()) {
                broker.collect();
            }
        }
        BrokerImpl& broker;
    };

    void check_executor(const queued& options) const {
        if (options.executor.is_workers() && !concurrent) {
            throw queue_options_error(
                "herald: a single_threaded broker has no worker threads; give the queued "
                "subscription Executor::polled() or an executor that runs tasks on the broker's "
                "thread");
        }
    }

    static void prepare_mailbox(queued& options) {
        if (options.executor.is_user()) {
            throw queue_options_error("herald: a mailbox is consumed by receive calls; it takes "
                                      "no executor");
        }
        options.executor = Executor::polled();
    }

    /// Queued subscriptions on the default executor run on this broker's pool.
    void bind_executor_locked(QueuedCore* q) {
        if (q != nullptr && q->options.executor.is_workers()) {
            if (!pool_) {
                pool_ = std::make_unique<WorkerPool>(options_.workers);
            }
            q->pool = pool_.get();
        }
    }

    std::size_t refuse_depth(std::string_view name) {
        depth_exceeded_.fetch_add(1, std::memory_order_relaxed);
        throw dispatch_depth_error(name, options_.max_depth);
    }

    template <class T, bool Hooked>
    std::size_t enter(std::string_view name, Channel* channel, const T& payload, T* movable,
                      LocalTarget target, const Pattern* pattern) {
        if constexpr (concurrent) {
            ThreadRecord& record = this_thread_record(domain_);
            if (record.depth >= options_.max_depth) {
                return refuse_depth(name);
            }
            CriticalSection section(domain_, record);
            return dispatch<T, Hooked>(&record, name, channel, payload, movable, target, pattern);
        } else {
            if (depth_ >= options_.max_depth) {
                return refuse_depth(name);
            }
            DepthGuard guard(*this);
            return dispatch<T, Hooked>(nullptr, name, channel, payload, movable, target, pattern);
        }
    }

    template <class T, bool Hooked>
    std::size_t dispatch(ThreadRecord* record, std::string_view name, Channel* channel,
                         const T& payload, T* movable, LocalTarget target, const Pattern* pattern) {
        if (closed_.load(std::memory_order_relaxed)) [[unlikely]] {
            return 0;
        }
        if constexpr (Hooked) {
            if (BrokerHooks* h = hooks_.load(std::memory_order_acquire)) [[unlikely]] {
                const PublishEvent event{name, &payload, &type_key<T>};
                if (!h->before_publish(event)) {
                    return 0;
                }
                const std::size_t receivers =
                    deliver<T>(record, name, channel, payload, movable, target, pattern);
                h->after_publish(event, receivers);
                return receivers;
            }
        }
        return deliver<T>(record, name, channel, payload, movable, target, pattern);
    }

    template <class T>
    std::size_t deliver(ThreadRecord* record, std::string_view name, Channel* channel,
                        const T& payload, T* movable, LocalTarget target, const Pattern* pattern) {
        Delivery d;
        d.channel = name;
        d.payload = &payload;
        d.ops = &payload_ops<T>;
        d.broker = this;
        d.movable_payload = movable;
        struct ReleaseNode {
            Delivery& d;
            ~ReleaseNode() {
                if (d.node != nullptr) {
                    d.node->release(); // the publisher's reference; queues hold their own
                }
            }
        } release_node{d};
        const bool pinned = channel != nullptr;
        if (!pinned && target != LocalTarget::pattern) {
            channel = table_.find(name, hash_channel(name));
        }
        std::size_t receivers = 0;
        if (channel != nullptr) {
            // A pinned channel (a Publisher's) keeps the type checked when it was pinned.
            receivers += dispatch_list<false>(record, channel->list, d, pinned ? nullptr : channel);
        }
        if (target == LocalTarget::pattern) [[unlikely]] {
            receivers += dispatch_one_pattern(record, *pattern, d);
        } else if (target == LocalTarget::all &&
                   pattern_count_.load(std::memory_order_relaxed) != 0) {
            receivers += dispatch_patterns(record, name, d);
        }
        if (d.first_error) [[unlikely]] {
            std::rethrow_exception(d.first_error);
        }
        return receivers;
    }

    std::size_t dispatch_patterns(ThreadRecord* record, std::string_view name, Delivery& d) {
        std::vector<PatternEntry*> late; // used only after thread-local destruction
        std::vector<PatternEntry*>* buffer = match_buffer();
        std::vector<PatternEntry*>& matched = buffer != nullptr ? *buffer : late;
        const std::size_t first = matched.size();
        {
            std::shared_lock lock(patterns_mutex_);
            patterns_.match(name, [&](const Pattern&, PatternEntry& entry) {
                prefetch(&entry);      // its pattern, read for the delivery
                prefetch(&entry.list); // maybe the next cache line
                matched.push_back(&entry);
            });
        }
        const std::size_t last = matched.size();
        // With many patterns, an entry, its list and its first subscriber are three dependent
        // cache misses. Start them for every match before delivering to any, so that they
        // overlap with each other and with the deliveries to entries already in cache.
        for (std::size_t i = first; i < last; ++i) {
            if (const SubscriberList* list = matched[i]->list.load(std::memory_order_acquire)) {
                prefetch(list);
                if (list->size != 0) {
                    prefetch(list->items()[0]);
                }
            }
        }
        struct Trim {
            std::vector<PatternEntry*>& buffer;
            std::size_t size;
            ~Trim() { buffer.resize(size); }
        } trim{matched, first};
        d.kind = MessageKind::pmessage;
        std::size_t receivers = 0;
        // Entries are retired through the same reclamation as lists, so they stay readable
        // for this dispatch even if a handler removes them. Nested dispatches append after
        // `last` and trim back, so this frame only ever reads its own range.
        for (std::size_t i = first; i < last; ++i) {
            PatternEntry* entry = matched[i];
            d.pattern = entry->pattern.text();
            receivers += dispatch_list<true>(record, entry->list, d, nullptr);
        }
        return receivers;
    }

    /// Delivers to the subscribers of `pattern` only (whether or not it matches the channel:
    /// the caller, an extension, has matched it already).
    std::size_t dispatch_one_pattern(ThreadRecord* record, const Pattern& pattern, Delivery& d) {
        PatternEntry* entry = nullptr;
        {
            std::shared_lock lock(patterns_mutex_);
            entry = patterns_.find(pattern);
        }
        if (entry == nullptr) {
            return 0;
        }
        // Readable after the lock: entries are retired through the same reclamation as lists.
        d.kind = MessageKind::pmessage;
        d.pattern = entry->pattern.text();
        return dispatch_list<true>(record, entry->list, d, nullptr);
    }

    static void prefetch(const void* address) noexcept {
#if defined(__GNUC__) || defined(__clang__)
        __builtin_prefetch(address);
#else
        (void)address;
#endif
    }

    /// One buffer per thread, used as a stack: nested dispatches append after the entries of
    /// the dispatch they interrupt and trim back to where they started. Null once the thread's
    /// thread-local state is destroyed (a publish from a late destructor).
    static std::vector<PatternEntry*>* match_buffer() {
        struct Buffer {
            std::vector<PatternEntry*> entries;
            ~Buffer() { gone() = true; }
        };
        if (gone()) [[unlikely]] {
            return nullptr;
        }
        thread_local Buffer buffer;
        return &buffer.entries;
    }
    static bool& gone() noexcept {
        thread_local bool value = false;
        return value;
    }

    /// Delivers to one subscriber list. `Pattern`: the list belongs to a pattern entry, whose
    /// subscriptions may take another payload type than the publish (checked per member).
    template <bool Pattern>
    HERALD_ALWAYS_INLINE std::size_t dispatch_list(ThreadRecord* record,
                                                   std::atomic<SubscriberList*>& head, Delivery& d,
                                                   const Channel* channel) {
        std::conditional_t<concurrent, DispatchSlot, NoDispatchSlot> slot(record);
        SubscriberList* list = head.load(std::memory_order_acquire);
        if (list == nullptr) {
            return 0;
        }
        if constexpr (!Pattern) {
            if (channel != nullptr) {
                check_type(*channel, d);
            }
        }
        std::uint64_t position = 0;
        if constexpr (concurrent) {
            position = count_publish(*record, slot, *list);
        } else {
            position = bump(list->counter);
        }
        if ((position & SubscriberList::closed_bit) != 0) [[unlikely]] {
            list = next_open_list(record, slot, head, list, position);
            if (list == nullptr) {
                return 0;
            }
            if constexpr (!Pattern) {
                if (channel != nullptr) {
                    check_type(*channel, d); // the channel may have been rebound meanwhile
                }
            }
        }
        d.sequence = position + 1;
        if (list->wants_envelope) {
            d.stamp_time();
        }
        std::size_t receivers = 0;
        SubscriptionCore* const* items = list->items();
        const std::uint32_t n = list->size;
        for (std::uint32_t i = 0; i < n; ++i) {
            SubscriptionCore* s = items[i];
            if constexpr (concurrent) {
                slot.enter(s); // before the active check: unsubscribe(s) waits for this call
            }
            if (!s->is_active()) [[unlikely]] {
                s->skipped.fetch_add(1, std::memory_order_relaxed);
                continue;
            }
            if constexpr (Pattern) {
                if (!(s->payload_type() == *d.ops->type)) [[unlikely]] {
                    s->skipped.fetch_add(1, std::memory_order_relaxed);
                    type_mismatches_.fetch_add(1, std::memory_order_relaxed);
                    continue;
                }
            }
            receivers += s->deliver(d) ? 1U : 0U;
        }
        return receivers;
    }

    /// The publish's payload type must be the channel's. Read after the list: a rebinding is
    /// stored before the first list of the new type is published.
    static void check_type(const Channel& channel, const Delivery& d) {
        const TypeKey& bound = channel.bound_type();
        if (!(bound == *d.ops->type)) [[unlikely]] {
            throw type_mismatch_error(channel.name, bound.name, d.ops->type->name);
        }
    }

    /// A writer closed `list` and is about to publish its successor: wait for it and count
    /// this publish there instead.
    template <class Slot>
    [[gnu::noinline]] SubscriberList*
    next_open_list(ThreadRecord* record, Slot& slot, std::atomic<SubscriberList*>& head,
                   SubscriberList* list, std::uint64_t& position) {
        for (;;) {
            SubscriberList* next = head.load(std::memory_order_acquire);
            while (next == list) {
                std::this_thread::yield();
                next = head.load(std::memory_order_acquire);
            }
            if (next == nullptr) {
                return nullptr;
            }
            if constexpr (concurrent) {
                position = count_publish(*record, slot, *next);
            } else {
                (void)record;
                (void)slot;
                position = bump(next->counter);
            }
            if ((position & SubscriberList::closed_bit) == 0) {
                return next;
            }
            list = next;
        }
    }

    static std::uint64_t bump(std::atomic<std::uint64_t>& counter) noexcept {
        if constexpr (concurrent) {
            return counter.fetch_add(1, std::memory_order_relaxed);
        } else {
            const std::uint64_t v = counter.load(std::memory_order_relaxed);
            counter.store(v + 1, std::memory_order_relaxed);
            return v;
        }
    }

    /// Counts one publish over `list` (see SubscriberList: the counter is biased to the first
    /// thread that publishes over it). Returns the position before the count; with
    /// `closed_bit` set the list was closed and nothing was counted.
    HERALD_ALWAYS_INLINE std::uint64_t count_publish(ThreadRecord& me, DispatchSlot& slot,
                                                     SubscriberList& list) {
        // The mark brackets the owner's plain count: a revoker waits until it moves on.
        slot.enter(&list);
        const void* bias = list.bias.load(std::memory_order_relaxed);
        if (bias == &me) [[likely]] {
            return count_as_owner(list);
        }
        return count_shared(me, list, bias);
    }

    HERALD_ALWAYS_INLINE static std::uint64_t count_as_owner(SubscriberList& list) noexcept {
        const std::uint64_t v = list.counter.load(std::memory_order_relaxed);
        if ((v & SubscriberList::closed_bit) == 0) [[likely]] {
            list.counter.store(v + 1, std::memory_order_relaxed);
        }
        return v;
    }

    [[gnu::noinline]] std::uint64_t count_shared(ThreadRecord& me, SubscriberList& list,
                                                 const void* bias) {
        // Claiming needs the asymmetric fence: without membarrier the owner's mark would need
        // a full fence per publish, which costs what the locked increment does.
        if (bias == nullptr && AsymmetricFence::expedited() &&
            list.bias.compare_exchange_strong(bias, &me, std::memory_order_acq_rel,
                                              std::memory_order_relaxed)) {
            return count_as_owner(list);
        }
        if (bias != SubscriberList::shared_bias()) {
            revoke_bias(me, list);
        }
        return list.counter.fetch_add(1, std::memory_order_relaxed);
    }

    /// Makes `list` shared and waits until its previous owner (if another thread) is past any
    /// plain count it started. Returns the previous bias.
    const void* revoke_bias(ThreadRecord& me, SubscriberList& list) {
        const void* owner =
            list.bias.exchange(SubscriberList::shared_bias(), std::memory_order_acq_rel);
        if (owner != nullptr && owner != SubscriberList::shared_bias() && owner != &me) {
            wait_for_invocations(domain_, &list);
        }
        return owner;
    }

    // ---- writer internals (mutex_ held) ---------------------------------------------------

    Subscription attach_exact(std::string_view name, const TypeKey& type, SubscriptionCore* core,
                              QueuedCore* queued_core = nullptr) {
        // The handle owns the core from here on. While `broker` is unset (before, or after a
        // failure below), destroying it only frees the core: there is nothing to unsubscribe.
        Subscription handle(core);
        core->id = next_subscription_id();
        {
            std::lock_guard lock(mutex_);
            if (closed_.load(std::memory_order_relaxed)) {
                throw broker_closed_error("herald: subscribe on a broker that has shut down");
            }
            Channel* channel = find_or_create_locked(name, type);
            bind_executor_locked(queued_core);
            core->owner = channel;
            // Set before the list makes the core visible: other threads (its consumer, a
            // failing handler) read it once they can reach the core.
            core->broker = link_locked();
            const bool first = channel->list.load(std::memory_order_relaxed) == nullptr;
            try {
                add_to_list_locked(channel->list, core);
            } catch (...) {
                core->broker.reset(); // not subscribed: the handle has nothing to unsubscribe
                remove_if_unused_locked(channel);
                throw;
            }
            ++subscriptions_;
            if (first) {
                if (BrokerHooks* h = hooks_.load(std::memory_order_relaxed)) {
                    h->channel_interest(channel->name, channel->bound_type(), Interest::appeared);
                }
            }
        }
        collect();
        return handle;
    }

    Subscription attach_pattern(Pattern pattern, SubscriptionCore* core,
                                QueuedCore* queued_core = nullptr) {
        Subscription handle(core); // see attach_exact
        core->id = next_subscription_id();
        std::unique_lock lock(mutex_);
        if (closed_.load(std::memory_order_relaxed)) {
            throw broker_closed_error("herald: psubscribe on a broker that has shut down");
        }
        PatternEntry* entry = nullptr;
        if (PatternEntry* found = patterns_.find(pattern)) {
            entry = found;
        } else {
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
            if (BrokerHooks* h = hooks_.load(std::memory_order_relaxed)) {
                h->pattern_interest(entry->pattern, Interest::appeared);
            }
        }
        bind_executor_locked(queued_core);
        core->owner = entry;
        core->broker = link_locked(); // before the core is visible (attach_exact)
        try {
            add_to_list_locked(entry->list, core);
        } catch (...) {
            core->broker.reset();
            remove_pattern_if_unused_locked(entry);
            throw;
        }
        ++subscriptions_;
        lock.unlock();
        collect();
        return handle;
    }

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
            c->idle = false;
            return c;
        }
        auto fresh = std::make_unique<Channel>(name, h, type);
        table_.insert(fresh.get(), [this](void* p, void (*destroy)(void*) noexcept) {
            retire_locked(p, destroy);
        });
        return fresh.release();
    }

    void add_to_list_locked(std::atomic<SubscriberList*>& head, SubscriptionCore* core) {
        SubscriberList* old = head.load(std::memory_order_relaxed);
        const std::uint32_t n = old != nullptr ? old->size : 0;
        SubscriberList* fresh = SubscriberList::create(n + 1, 0);
        bool envelope = core->wants_envelope;
        for (std::uint32_t i = 0; i < n; ++i) {
            fresh->items()[i] = old->items()[i];
            envelope = envelope || old->items()[i]->wants_envelope;
        }
        fresh->items()[n] = core;
        fresh->wants_envelope = envelope;
        core->add_ref(); // the broker's reference
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
        retire_locked(&core, &SubscriptionCore::release_from_broker);
        if (core.pattern_subscription) {
            remove_pattern_if_unused_locked(
                static_cast<PatternEntry*>(const_cast<void*>(core.owner)));
        } else {
            auto* channel = static_cast<Channel*>(const_cast<void*>(core.owner));
            if (fresh == nullptr) {
                if (BrokerHooks* h = hooks_.load(std::memory_order_relaxed)) {
                    h->channel_interest(channel->name, channel->bound_type(), Interest::gone);
                }
            }
            remove_if_unused_locked(channel);
        }
    }

    std::atomic<SubscriberList*>& owner_list(const SubscriptionCore& core) const noexcept {
        if (core.pattern_subscription) {
            return static_cast<PatternEntry*>(const_cast<void*>(core.owner))->list;
        }
        return static_cast<Channel*>(const_cast<void*>(core.owner))->list;
    }

    /// Publishes `fresh` in place of the current list, closing the old one so its count is
    /// final and `fresh` continues its sequence.
    void replace_list_locked(std::atomic<SubscriberList*>& head, SubscriberList* fresh) {
        SubscriberList* old = head.load(std::memory_order_relaxed);
        std::uint64_t position = 0;
        if (old != nullptr) {
            if constexpr (concurrent) {
                // The owner of a biased counter must be past its count before the close, or
                // its plain store could erase `closed_bit`. The successor keeps the bias: a
                // channel with one publisher thread stays lock-free across subscriber churn.
                const void* owner = revoke_bias(this_thread_record(domain_), *old);
                if (fresh != nullptr) {
                    fresh->bias.store(owner, std::memory_order_relaxed);
                }
                position =
                    old->counter.fetch_or(SubscriberList::closed_bit, std::memory_order_acq_rel);
            } else {
                position = old->counter.load(std::memory_order_relaxed);
                old->counter.store(position | SubscriberList::closed_bit,
                                   std::memory_order_relaxed);
            }
            const std::uint64_t count = position - old->base;
            for (std::uint32_t i = 0; i < old->size; ++i) {
                old->items()[i]->add_offered(count);
            }
            dispatched_closed_ += count;
        }
        if (fresh != nullptr) {
            fresh->counter.store(position, std::memory_order_relaxed);
            fresh->base = position;
        }
        head.store(fresh, std::memory_order_release);
        if (old != nullptr) {
            retire_locked(old, &SubscriberList::destroy);
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
        if (!channel->idle) {
            channel->idle = true;
            idle_.push_back(channel);
        }
        if (idle_.size() > idle_limit) {
            for (Channel* c : idle_) {
                if (c->idle) { // a reused channel may be listed twice: erase it once
                    c->idle = false;
                    table_.erase(c, [this](void* p, void (*destroy)(void*) noexcept) {
                        retire_locked(p, destroy);
                    });
                    retire_locked(c, &Channel::destroy);
                }
            }
            idle_.clear();
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
        if (BrokerHooks* h = hooks_.load(std::memory_order_relaxed)) {
            h->pattern_interest(entry->pattern, Interest::gone);
        }
        PatternEntry* last = pattern_entries_.back();
        pattern_entries_[entry->position] = last;
        last->position = entry->position;
        pattern_entries_.pop_back();
        pattern_count_.store(pattern_entries_.size(), std::memory_order_relaxed);
        retire_locked(taken.entry, taken.destroy);
    }

    /// A queued subscription that left its list and whose queue is settled: its drops move to
    /// the broker's total of ended subscriptions.
    void fold_drops(SubscriptionCore& core) {
        std::lock_guard lock(mutex_);
        SubscriptionStats q;
        core.queue()->stats(core, q);
        dropped_closed_ += q.dropped;
        static_cast<QueuedCore&>(core).drops_folded = true; // later drops: discarded_after_end
    }

    void orphan_list_locked(SubscriberList* list, std::vector<RetireList::Entry>& garbage) {
        if (list == nullptr) {
            return;
        }
        const std::uint64_t count =
            (list->counter.load(std::memory_order_relaxed) & ~SubscriberList::closed_bit) -
            list->base;
        for (std::uint32_t i = 0; i < list->size; ++i) {
            SubscriptionCore* s = list->items()[i];
            s->add_offered(count);
            s->state.store(SubscriptionState::orphaned, std::memory_order_seq_cst);
            if (s->queue() != nullptr) {
                s->queue()->cancelled(*s, false); // wake receivers: the subscription ended
                SubscriptionStats q;
                s->queue()->stats(*s, q);
                dropped_closed_ += q.dropped; // settled: no publish can reach it any more
                static_cast<QueuedCore*>(s)->drops_folded = true;
            }
            garbage.push_back({s, &SubscriptionCore::release_from_broker, 0});
        }
        dispatched_closed_ += count;
        garbage.push_back({list, &SubscriberList::destroy, 0});
    }

    /// The link every subscription of this broker shares (created on first need: the broker
    /// is owned by a shared_ptr only after its constructor).
    BrokerLink* link_locked() {
        if (link_ == nullptr) {
            link_ = new BrokerLink(this->weak_from_this());
        }
        return link_;
    }

    void retire_locked(void* object, void (*destroy)(void*) noexcept) {
        if constexpr (concurrent) {
            retired_.retire(object, destroy);
        } else {
            deferred_.push_back(RetireList::Entry{object, destroy, 0});
        }
    }

    /// Destroys retired objects no dispatch can reach. Called with no lock held: destructors
    /// of handlers may call back into the broker.
    void collect() noexcept {
        if constexpr (concurrent) {
            retired_.collect();
        } else {
            // Destroying an object may end a subscription whose handler owned a handle, which
            // retires more: drain until nothing is left. Inside a dispatch, wait for its end.
            // Destroying may retire more (a handler owning a handle): the outer loop picks it
            // up, so nested calls return at once. Both vectors keep their capacity, so a
            // steady subscribe/unsubscribe cycle allocates nothing here.
            if (collecting_) {
                return;
            }
            collecting_ = true;
            while (depth_ == 0 && !deferred_.empty()) {
                collecting_batch_.swap(deferred_);
                for (const RetireList::Entry& e : collecting_batch_) {
                    e.destroy(e.object);
                }
                collecting_batch_.clear();
            }
            collecting_ = false;
        }
    }

    void report(const ErrorInfo& info) noexcept {
        std::shared_ptr<const std::function<void(const ErrorInfo&)>> hook;
        {
            std::lock_guard lock(hook_mutex_);
            hook = hook_;
        }
        if (hook) {
            try {
                (*hook)(info);
            } catch (...) {
                // A throwing error hook must not take the dispatch down with it.
            }
        }
    }

    BrokerOptions options_;
    EpochDomain& domain_;
    mutable Mutex mutex_;                // writers: subscribe, unsubscribe, pin, introspection
    mutable SharedMutex patterns_mutex_; // the pattern index: shared for publish, unique for writes
    Mutex hook_mutex_;
    ChannelTable<Channel> table_;
    PatternIndex<PatternEntry> patterns_; // owns the entries (see PatternEntry)
    std::vector<PatternEntry*> pattern_entries_;
    std::vector<Channel*> orphaned_channels_;
    std::atomic<std::size_t> pattern_count_{0};
    std::atomic<bool> closed_{false};
    std::atomic<BrokerHooks*> hooks_{nullptr}; // at most one extension (install_hooks)
    std::size_t subscriptions_ = 0;
    static constexpr std::size_t idle_limit = 64;
    std::vector<Channel*> idle_; // unused channels kept for reuse (see remove_if_unused_locked)
    std::uint64_t dispatched_closed_ = 0;
    std::uint64_t dropped_closed_ = 0; // drops of queued subscriptions that have ended
    std::atomic<std::uint64_t> errors_{0};
    std::atomic<std::uint64_t> depth_exceeded_{0};
    std::atomic<std::uint64_t> type_mismatches_{0};
    std::shared_ptr<const std::function<void(const ErrorInfo&)>> hook_;
    RetireList retired_;
    BrokerLink* link_ = nullptr; // created with the first subscription (writer lock)
    // single_threaded only: nesting depth and what waits for it to reach zero.
    std::size_t depth_ = 0;
    std::vector<RetireList::Entry> deferred_;
    std::vector<RetireList::Entry> collecting_batch_;
    bool collecting_ = false;
    std::unique_ptr<WorkerPool> pool_;
};

} // namespace detail

/// The broker: exact channels, typed topics and pattern subscriptions, delivered inline on the
/// publishing thread.
///
/// `Payload` is the payload type of string channels (`subscribe("name", ...)`,
/// `publish("name", ...)`); typed topics carry their own. `Policy` is `thread_safe` (default)
/// or `single_threaded`.
///
/// **Thread-safety (thread_safe policy):** every member function may be called concurrently
/// from any thread and from inside handlers. No lock is held while a handler runs.
/// **Thread-safety (single_threaded policy):** one thread only; handlers may still call back
/// into the broker.
/// **Lifetime:** destroying the broker ends every subscription (their handles become inert)
/// after dispatches running on other threads have finished. It must not be destroyed from
/// inside one of its own handlers, nor while another thread calls one of its member functions.
template <class Payload, class Policy>
class Broker {
    static_assert(std::is_same_v<Policy, thread_safe> || std::is_same_v<Policy, single_threaded>,
                  "herald::Broker: Policy must be herald::thread_safe or herald::single_threaded");
    using Impl = detail::BrokerImpl<Policy>;

public:
    using payload_type = Payload;
    using policy_type = Policy;

    /// A publisher bound to one typed topic: publishing skips the channel lookup.
    /// **Thread-safety:** `publish` may be called from any thread (thread_safe policy).
    /// **Lifetime:** may outlive the broker; publishing then delivers to nobody and returns 0.
    template <class T>
    class Publisher {
    public:
        Publisher(const Publisher& other) : impl_(other.impl_), channel_(other.channel_) {
            if (impl_) {
                impl_->pin_again(channel_);
            }
        }
        Publisher(Publisher&& other) noexcept
            : impl_(std::move(other.impl_)), channel_(std::exchange(other.channel_, nullptr)) {}
        Publisher& operator=(Publisher other) noexcept {
            std::swap(impl_, other.impl_);
            std::swap(channel_, other.channel_);
            return *this;
        }
        ~Publisher() {
            if (impl_ && channel_ != nullptr) {
                impl_->unpin(channel_);
            }
        }

        /// Publishes `payload`; returns the number of receivers (as `Broker::publish`).
        std::size_t publish(const T& payload) const {
            static_assert(std::is_copy_constructible_v<T>,
                          "herald: this payload type cannot be copied: publish it as an rvalue "
                          "(std::move), which queued subscribers then share");
            return impl_->template publish<T>(channel_->name, channel_, payload, nullptr);
        }
        /// Publishes an rvalue: moved (not copied) into a queue node if a queue needs one.
        std::size_t publish(T&& payload) const {
            return impl_->template publish<T>(channel_->name, channel_, payload, &payload);
        }
        /// Same as `publish`.
        std::size_t operator()(const T& payload) const { return publish(payload); }
        std::size_t operator()(T&& payload) const { return publish(std::move(payload)); }

        /// The channel name.
        std::string_view channel() const noexcept { return channel_->name; }

    private:
        friend class Broker;
        Publisher(std::shared_ptr<Impl> impl, detail::Channel* channel) noexcept
            : impl_(std::move(impl)), channel_(channel) {}
        std::shared_ptr<Impl> impl_;
        detail::Channel* channel_;
    };

    /// A broker with default options.
    Broker() : Broker(BrokerOptions{}) {}

    /// A broker with `options`. Throws `std::invalid_argument` for an out-of-range option.
    explicit Broker(BrokerOptions options) : impl_(std::make_shared<Impl>(std::move(options))) {}

    Broker(const Broker&) = delete;
    Broker& operator=(const Broker&) = delete;

    /// Shuts down (see `shutdown`).
    ~Broker() { impl_->shutdown(); }

    // ---- subscribe -----------------------------------------------------------------------

    /// Subscribes `handler` to the string channel `channel` (any bytes, empty allowed).
    /// The subscription is live when this returns; it does not see messages published before.
    /// **Thread-safety:** any thread, including from inside a handler (a subscription added
    /// during a dispatch does not receive the message being dispatched).
    /// **Lifetime:** the handler is destroyed after the subscription ends and no dispatch can
    /// still reach it.
    template <class H>
    requires Handler<H, Payload>
    [[nodiscard]] Subscription subscribe(std::string_view channel, H&& handler) {
        return impl_->template subscribe<Payload>(channel, std::forward<H>(handler));
    }

    /// Subscribes `handler` to a typed topic. Throws `type_mismatch_error` if the channel is
    /// in use with another payload type. Otherwise as the string-channel overload.
    /// **Thread-safety:** as the string-channel overload. **Lifetime:** likewise.
    template <class T, class H>
    requires Handler<H, T>
    [[nodiscard]] Subscription subscribe(const Topic<T>& topic, H&& handler) {
        return impl_->template subscribe<T>(topic.name(), std::forward<H>(handler));
    }

    /// Subscribes `handler` to every channel matching `pattern` (a Redis glob when given as a
    /// string; `nats_pattern(...)` and `mqtt_pattern(...)` for token patterns). Receives
    /// publishes whose payload type is `Payload`; handlers taking `Message` see
    /// `kind == pmessage` and the pattern. A channel matched by an exact subscription and a
    /// pattern (or by two patterns) of one subscriber delivers once per subscription, as Redis
    /// does. Invalid token patterns were already rejected by `nats_pattern`/`mqtt_pattern`.
    /// **Thread-safety:** as `subscribe`.
    template <class H>
    requires Handler<H, Payload>
    [[nodiscard]] Subscription psubscribe(Pattern pattern, H&& handler) {
        return impl_->template psubscribe<Payload>(std::move(pattern), std::forward<H>(handler));
    }

    /// As above for publishes of payload type `T` (`broker.psubscribe<DriverStatus>(...)`).
    /// **Thread-safety:** as `subscribe`.
    template <class T, class H>
    requires Handler<H, T>
    [[nodiscard]] Subscription psubscribe(Pattern pattern, H&& handler) {
        return impl_->template psubscribe<T>(std::move(pattern), std::forward<H>(handler));
    }

    // ---- queued subscriptions --------------------------------------------------------------

    /// Subscribes `handler` with a bounded queue: publishing enqueues (one shared node per
    /// publish, no copy per subscriber) and the handler runs where `options.executor` says —
    /// the broker's workers by default, a user executor, or the subscriber's own thread via
    /// `Subscription::poll()`/`drain()`/`wait_for()`. The handler never runs concurrently with
    /// itself and sees each publishing thread's messages in publish order. A full queue
    /// applies `options.overflow`; every drop is counted. Throws `queue_options_error` for a
    /// capacity of 0.
    /// **Thread-safety:** as `subscribe`.
    /// **Lifetime:** unsubscribing discards what is still queued (counted as dropped) and
    /// waits for a running invocation on another thread, as for inline subscriptions.
    template <class H>
    requires Handler<H, Payload>
    [[nodiscard]] Subscription subscribe(std::string_view channel, H&& handler, queued options) {
        return impl_->template subscribe_queued<Payload>(channel, std::forward<H>(handler),
                                                         std::move(options));
    }

    /// Queued subscription to a typed topic (see the string-channel overload).
    /// **Thread-safety:** as `subscribe`. **Lifetime:** as the string-channel overload.
    template <class T, class H>
    requires Handler<H, T>
    [[nodiscard]] Subscription subscribe(const Topic<T>& topic, H&& handler, queued options) {
        return impl_->template subscribe_queued<T>(topic.name(), std::forward<H>(handler),
                                                   std::move(options));
    }

    /// Queued pattern subscription (see `psubscribe` and the queued `subscribe`).
    /// **Thread-safety:** as `subscribe`. **Lifetime:** as the queued `subscribe`.
    template <class H>
    requires Handler<H, Payload>
    [[nodiscard]] Subscription psubscribe(Pattern pattern, H&& handler, queued options) {
        return impl_->template psubscribe_queued<Payload>(
            std::move(pattern), std::forward<H>(handler), std::move(options));
    }

    /// Queued pattern subscription for payload type `T`.
    /// **Thread-safety:** as `subscribe`. **Lifetime:** as the queued `subscribe`.
    template <class T, class H>
    requires Handler<H, T>
    [[nodiscard]] Subscription psubscribe(Pattern pattern, H&& handler, queued options) {
        return impl_->template psubscribe_queued<T>(std::move(pattern), std::forward<H>(handler),
                                                    std::move(options));
    }

    /// A mailbox: a queued subscription without a handler, consumed on the caller's thread
    /// with `try_receive`, `receive_for`, `receive` or `for (auto& m : mailbox.listen())`.
    /// `options.executor` must be left at its default.
    /// **Thread-safety:** as `subscribe`; see `Mailbox` for receiving.
    [[nodiscard]] Mailbox<Payload> subscribe(std::string_view channel, queued options) {
        return impl_->template mailbox<Payload>(channel, std::move(options));
    }

    /// A mailbox on a typed topic.
    /// **Thread-safety:** as `subscribe`.
    template <class T>
    [[nodiscard]] Mailbox<T> subscribe(const Topic<T>& topic, queued options) {
        return impl_->template mailbox<T>(topic.name(), std::move(options));
    }

    /// A mailbox on a pattern (payload type `Payload`).
    /// **Thread-safety:** as `subscribe`.
    [[nodiscard]] Mailbox<Payload> psubscribe(Pattern pattern, queued options) {
        return impl_->template pmailbox<Payload>(std::move(pattern), std::move(options));
    }

    /// A mailbox on a pattern for payload type `T`.
    /// **Thread-safety:** as `subscribe`.
    template <class T>
    [[nodiscard]] Mailbox<T> psubscribe(Pattern pattern, queued options) {
        return impl_->template pmailbox<T>(std::move(pattern), std::move(options));
    }

    // ---- publish -------------------------------------------------------------------------

    /// Publishes `payload` on the string channel `channel`, running every matching handler on
    /// this thread before returning. Returns the number of receivers as Redis `PUBLISH` does:
    /// one per matching subscription (exact and pattern). A message nobody receives is gone.
    /// The payload is shared by reference among all receivers, never copied per subscriber.
    /// **Thread-safety:** any thread, including from inside a handler (nesting is bounded by
    /// `BrokerOptions::max_depth`; beyond it `dispatch_depth_error` is thrown).
    /// **Lifetime:** `payload` need only live for the call.
    std::size_t publish(std::string_view channel, const Payload& payload) {
        static_assert(std::is_copy_constructible_v<Payload>,
                      "herald: this payload type cannot be copied: publish it as an rvalue "
                      "(std::move), which queued subscribers then share");
        return impl_->template publish<Payload>(channel, nullptr, payload, nullptr);
    }

    /// Publishes an rvalue: moved (never copied) into the queue node when a queued
    /// subscription needs one; otherwise as above.
    /// **Thread-safety:** as above.
    std::size_t publish(std::string_view channel, Payload&& payload) {
        return impl_->template publish<Payload>(channel, nullptr, payload, &payload);
    }

    /// Publishes a value convertible to `Payload` (e.g. a string literal), constructed once.
    /// **Thread-safety:** as above.
    template <class U>
    requires(!std::same_as<std::remove_cvref_t<U>, Payload> &&
             std::constructible_from<Payload, U>) std::size_t
        publish(std::string_view channel, U&& value) {
        Payload payload(std::forward<U>(value));
        return impl_->template publish<Payload>(channel, nullptr, payload, &payload);
    }

    /// Publishes on a typed topic. Anything but a `T` (or, for string topics, a string) does
    /// not compile. Throws `type_mismatch_error` if the channel is in use with another type.
    template <class T>
    std::size_t publish(const Topic<T>& topic, const T& payload) {
        static_assert(std::is_copy_constructible_v<T>,
                      "herald: this payload type cannot be copied: publish it as an rvalue "
                      "(std::move), which queued subscribers then share");
        return impl_->template publish<T>(topic.name(), nullptr, payload, nullptr);
    }

    /// Publishes an rvalue on a typed topic (moved, never copied, into queues).
    /// **Thread-safety:** as the string-channel `publish`.
    template <class T>
    std::size_t publish(const Topic<T>& topic, T&& payload) {
        return impl_->template publish<T>(topic.name(), nullptr, payload, &payload);
    }

    /// As above, for braced initialisers and other string-like values on string topics.
    /// **Thread-safety:** as the string-channel `publish`.
    template <class T, class U>
    requires(PublishableTo<U, T> && !std::same_as<std::remove_cvref_t<U>, T>) std::size_t
        publish(const Topic<T>& topic, U&& value) {
        T payload(std::forward<U>(value));
        return impl_->template publish<T>(topic.name(), nullptr, payload, &payload);
    }

    /// A publisher bound to `topic` that skips the channel lookup on every publish.
    /// Throws `type_mismatch_error` if the channel is in use with another type.
    /// **Thread-safety:** any thread.
    template <class T>
    [[nodiscard]] Publisher<T> publisher(const Topic<T>& topic) {
        return Publisher<T>(impl_, impl_->pin(topic.name(), detail::type_key<T>));
    }

    // ---- introspection (Redis PUBSUB) -----------------------------------------------------

    /// Channels with at least one exact subscriber, sorted. Like `PUBSUB CHANNELS` without a
    /// pattern: every channel, the empty name included (which the glob `*` does not match,
    /// exactly as in Redis).
    /// **Thread-safety:** any thread; takes the writer lock briefly.
    std::vector<std::string> channels() const { return impl_->channels(nullptr); }

    /// Channels with at least one exact subscriber whose name matches the Redis glob `glob`,
    /// sorted. Like `PUBSUB CHANNELS pattern`.
    /// **Thread-safety:** any thread; takes the writer lock briefly.
    std::vector<std::string> channels(std::string_view glob) const {
        return impl_->channels(&glob);
    }

    /// Number of exact subscribers of `channel`, like `PUBSUB NUMSUB`.
    /// **Thread-safety:** any thread, also from handlers; takes the writer lock briefly.
    std::size_t numsub(std::string_view channel) const { return impl_->numsub(channel); }

    /// Number of distinct patterns with at least one subscriber, like `PUBSUB NUMPAT`.
    /// **Thread-safety:** any thread, also from handlers; takes the writer lock briefly.
    std::size_t numpat() const { return impl_->numpat(); }

    /// Broker-wide counters.
    /// **Thread-safety:** any thread, also from handlers; takes the writer lock briefly and
    /// walks the channels once (O(channels)).
    BrokerStats stats() const { return impl_->stats(); }

    /// Total pattern evaluations (full matcher calls) so far: how much matching publishes
    /// cost, independent of timing. Used by tests and benchmarks.
    /// **Thread-safety:** any thread.
    std::uint64_t pattern_evaluations() const { return impl_->pattern_evaluations(); }

    // ---- errors and shutdown --------------------------------------------------------------

    /// Sets the hook called for every handler exception (and queue disconnect), with the
    /// channel, pattern and subscription id. Replaces the previous hook; an empty function
    /// removes it. The hook runs on the thread where the failure happened and must not throw
    /// (what it throws is swallowed).
    /// **Thread-safety:** any thread.
    void on_error(std::function<void(const ErrorInfo&)> hook) {
        impl_->set_error_hook(std::move(hook));
    }

    /// Ends every subscription (their handles become inert) and makes later publishes deliver
    /// to nobody; waits for dispatches running on other threads to finish. Messages still
    /// queued are delivered first (`drain`, on the calling thread, the handler never running
    /// concurrently with itself) or dropped and counted (`discard`); mailboxes keep theirs
    /// for their receivers under `drain`. Then the worker threads are joined. Idempotent.
    /// **Thread-safety:** any thread except from inside one of this broker's handlers.
    void shutdown(ShutdownMode mode = ShutdownMode::drain) noexcept { impl_->shutdown(mode); }

    /// The options the broker was built with.
    /// **Thread-safety:** any thread (they never change).
    const BrokerOptions& options() const noexcept { return impl_->options(); }

private:
    friend struct detail::BrokerAccess;
    std::shared_ptr<Impl> impl_;
};

namespace detail {

/// How herald's optional parts (the Redis bridge) reach a broker's implementation.
struct BrokerAccess {
    template <class P, class Pol>
    static auto& impl(Broker<P, Pol>& broker) noexcept {
        return *broker.impl_;
    }
};

} // namespace detail

HERALD_NAMESPACE_END
