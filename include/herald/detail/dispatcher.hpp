#pragma once
// The dispatcher: the read side of a broker, the one data path every publication takes:
//
//   publish -> [hooks: before_publish] -> lookup the exact channel -> match the patterns
//           -> deliver through each route (inline call or enqueue) -> [hooks: after_publish]
//           -> dead letters of the handlers that threw
//
// It takes no lock but the pattern index's shared one, allocates nothing in steady state, and
// calls only down: into the registry's lock-free reads, the list counter, the subscriptions'
// `deliver`, the error sink and, for a queue that overflowed under `disconnect`, the
// registry's `detach`.

#include <herald/detail/epoch.hpp>
#include <herald/detail/error_sink.hpp>
#include <herald/detail/hooks.hpp>
#include <herald/detail/list_counter.hpp>
#include <herald/detail/platform.hpp>
#include <herald/detail/publication.hpp>
#include <herald/detail/queued_core.hpp>
#include <herald/detail/registry.hpp>
#include <herald/detail/routes.hpp>
#include <herald/detail/subscriber_list.hpp>
#include <herald/detail/subscription_core.hpp>
#include <herald/errors.hpp>
#include <herald/message.hpp>
#include <herald/options.hpp>
#include <herald/version.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

HERALD_NAMESPACE_BEGIN
namespace detail {

/// Stands in for the dispatch mark in a single-threaded broker, which keeps none.
struct NoDispatchSlot {
    explicit NoDispatchSlot(ThreadRecord*) noexcept {}
};

/// Which kind of route a subscriber list is.
enum class RouteKind : std::uint8_t {
    channel, ///< an exact channel's list: every member takes the publication's payload type
    pattern, ///< a pattern entry's list: members may take other payload types (checked each)
};

template <bool Concurrent>
class Dispatcher {
public:
    Dispatcher(Registry<Concurrent>& registry, ErrorSink<Concurrent>& sink,
               const BrokerOptions& options) noexcept
        : registry_(registry), sink_(sink), domain_(registry.domain()), options_(options) {}
    Dispatcher(const Dispatcher&) = delete;
    Dispatcher& operator=(const Dispatcher&) = delete;

    /// Whether a publish runs the extension hooks: `skip` serves messages that an extension
    /// itself hands to the local subscribers (a bridge's received messages).
    enum class Hooks : bool { run, skip };

    /// Publishes on the channel `name`. `movable`, when not null, is the same object as
    /// `payload` and may be moved from into a message node.
    template <class T, Hooks H = Hooks::run>
    std::size_t publish(std::string_view name, const T& payload, T* movable) {
        return enter<T, H>(name, hash_channel(name), payload, movable, nullptr);
    }

    /// Publishes on the channel `name` whose hash (`hash_channel`) the caller kept: a topic's.
    template <class T>
    std::size_t publish_hashed(std::string_view name, std::size_t hash, const T& payload,
                               T* movable) {
        return enter<T, Hooks::run>(name, hash, payload, movable, nullptr);
    }

    /// Publishes on a channel pinned by a publisher: no lookup, and the payload type was
    /// checked when it was pinned.
    template <class T>
    std::size_t publish_pinned(Channel& channel, const T& payload, T* movable) {
        return enter<T, Hooks::run>(channel.name, channel.hash(), payload, movable, &channel);
    }

    /// Publishes to some local receivers only, skipping the hooks (see LocalTarget): the
    /// channel's exact subscribers, or the subscribers of `pattern`.
    template <class T>
    std::size_t publish_to(std::string_view name, const T& payload, T* movable, LocalTarget target,
                           const Pattern* pattern) {
        if (target == LocalTarget::all || (target == LocalTarget::pattern && pattern == nullptr)) {
            return publish<T, Hooks::skip>(name, payload, movable);
        }
        Settlement* settlement = nullptr;
        std::size_t receivers = 0;
        const auto targeted = [&](ThreadRecord* record) {
            if (registry_.closed()) {
                return std::size_t{0};
            }
            Publication p(name, &payload, payload_type_of<T>, movable);
            std::size_t n = 0;
            if (target == LocalTarget::exact) {
                if (Channel* channel = registry_.find(name)) {
                    n = deliver_list<RouteKind::channel>(record, channel->list, p, channel);
                }
            } else if (PatternEntry* entry = registry_.find_pattern(*pattern)) {
                n = deliver_list<RouteKind::pattern>(record, entry->list, p, nullptr,
                                                     entry->pattern.text());
            }
            if (p.settlement != nullptr) {
                settlement = p.take_settlement().release();
            }
            return n;
        };
        if constexpr (Concurrent) {
            ThreadRecord& record = this_thread_record(domain_);
            if (record.depth >= options_.max_depth) {
                return refuse_depth(name);
            }
            CriticalSection section(domain_, record);
            receivers = targeted(&record);
        } else {
            Reclaimer<false>& reclaimer = registry_.reclaimer();
            if (reclaimer.depth() >= options_.max_depth) {
                return refuse_depth(name);
            }
            reclaimer.enter();
            struct Leave {
                Reclaimer<false>& r;
                ~Leave() { r.leave(); }
            } leave{reclaimer};
            receivers = targeted(nullptr);
        }
        if (settlement != nullptr) {
            after_failures(std::unique_ptr<Settlement>(settlement));
        }
        return receivers;
    }

    /// A queued handler threw on its consumer's thread: reported, then its dead letter.
    void queued_failed(SubscriptionCore& core, const Failure& failure) {
        sink_.handler_failed(core, failure, nullptr); // rethrow_after acts as isolate here
        if (wants_dead_letter(failure)) {
            DeadLetter letter = make_dead_letter(core, failure);
            publish_dead_letter(letter);
        }
    }

    std::uint64_t depth_exceeded() const noexcept {
        return depth_exceeded_.load(std::memory_order_relaxed);
    }
    std::uint64_t type_mismatches() const noexcept {
        return type_mismatches_.load(std::memory_order_relaxed);
    }

private:
    /// Opens a dispatch level (depth limit, read-side critical section), dispatches, then
    /// publishes the dead letters and rethrows for `rethrow_after`, at the caller's level.
    template <class T, Hooks H>
    HERALD_ALWAYS_INLINE std::size_t enter(std::string_view name, std::size_t hash,
                                           const T& payload, T* movable, Channel* pinned) {
        std::size_t receivers = 0;
        Settlement* settlement = nullptr; // what failed deliveries leave (see dispatch)
        if constexpr (Concurrent) {
            ThreadRecord& record = this_thread_record(domain_);
            if (record.depth >= options_.max_depth) [[unlikely]] {
                return refuse_depth(name);
            }
            CriticalSection section(domain_, record);
            receivers = dispatch<T, H>(&record, name, hash, payload, movable, pinned, settlement);
        } else {
            Reclaimer<false>& reclaimer = registry_.reclaimer();
            if (reclaimer.depth() >= options_.max_depth) [[unlikely]] {
                return refuse_depth(name);
            }
            struct Level {
                Reclaimer<false>& r;
                explicit Level(Reclaimer<false>& reclaimer) noexcept : r(reclaimer) { r.enter(); }
                Level(const Level&) = delete;
                Level& operator=(const Level&) = delete;
                ~Level() { r.leave(); }
            } level(reclaimer);
            // Inlined whole: a single-threaded publish is short enough that the call would
            // show (W1 single_threaded).
            receivers =
                dispatch_inline<T, H>(nullptr, name, hash, payload, movable, pinned, settlement);
        }
        if (settlement != nullptr) [[unlikely]] {
            after_failures(std::unique_ptr<Settlement>(settlement));
        }
        return receivers;
    }

    /// The publication lives in this frame (its address is the frame's, not a register's).
    /// When it returns normally, what failed deliveries left goes to `settlement`, for the
    /// caller to settle once the dispatch level is closed; when it throws, it is destroyed
    /// with the publication.
    template <class T, Hooks H>
    std::size_t dispatch(ThreadRecord* record, std::string_view name, std::size_t hash,
                         const T& payload, T* movable, Channel* pinned, Settlement*& settlement) {
        return dispatch_inline<T, H>(record, name, hash, payload, movable, pinned, settlement);
    }

    template <class T, Hooks H>
    HERALD_ALWAYS_INLINE std::size_t dispatch_inline(ThreadRecord* record, std::string_view name,
                                                     std::size_t hash, const T& payload, T* movable,
                                                     Channel* pinned, Settlement*& settlement) {
        if (registry_.closed()) [[unlikely]] {
            return 0;
        }
        Publication p(name, &payload, payload_type_of<T>, movable);
        const std::size_t receivers = deliver_all<H>(record, p, hash, pinned);
        if (p.settlement != nullptr) [[unlikely]] {
            settlement = p.take_settlement().release();
        }
        return receivers;
    }

    template <Hooks H>
    HERALD_ALWAYS_INLINE std::size_t deliver_all(ThreadRecord* record, Publication& p,
                                                 std::size_t hash, Channel* pinned) {
        BrokerHooks* extension = H == Hooks::run ? registry_.hooks() : nullptr;
        if (extension != nullptr) [[unlikely]] {
            if (!extension->before_publish(PublishEvent{p.channel, p.payload, p.type->key})) {
                return 0;
            }
        }
        std::size_t receivers = 0;
        if (pinned != nullptr) {
            // A pinned channel (a publisher's) keeps the type checked when it was pinned.
            receivers += deliver_list<RouteKind::channel>(record, pinned->list, p, nullptr);
        } else if (Channel* channel = registry_.find(p.channel, hash)) {
            receivers += deliver_list<RouteKind::channel>(record, channel->list, p, channel);
        }
        if (registry_.has_patterns()) {
            receivers += deliver_patterns(record, p);
        }
        if (extension != nullptr) [[unlikely]] {
            extension->after_publish(PublishEvent{p.channel, p.payload, p.type->key}, receivers);
        }
        return receivers;
    }

    std::size_t deliver_patterns(ThreadRecord* record, Publication& p) {
        std::vector<PatternEntry*> late; // used only after thread-local destruction
        std::vector<PatternEntry*>* buffer = match_buffer();
        std::vector<PatternEntry*>& matched = buffer != nullptr ? *buffer : late;
        const std::size_t first = matched.size();
        registry_.match(p.channel, [&](PatternEntry& entry) {
            prefetch(&entry);      // its pattern, read for the delivery
            prefetch(&entry.list); // maybe the next cache line
            matched.push_back(&entry);
        });
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
        std::size_t receivers = 0;
        // Entries are retired through the same reclamation as lists, so they stay readable
        // for this dispatch even if a handler removes them. Nested dispatches append after
        // `last` and trim back, so this frame only ever reads its own range.
        for (std::size_t i = first; i < last; ++i) {
            receivers += deliver_list<RouteKind::pattern>(record, matched[i]->list, p, nullptr,
                                                          matched[i]->pattern.text());
        }
        return receivers;
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

    /// Delivers through one route. `check`, when not null, is the channel whose payload type
    /// the publication must have.
    template <RouteKind Kind>
    HERALD_ALWAYS_INLINE std::size_t
    deliver_list(ThreadRecord* record, std::atomic<SubscriberList*>& head, Publication& p,
                 const Channel* check, std::string_view pattern = {}) {
        std::conditional_t<Concurrent, DispatchSlot, NoDispatchSlot> slot(record);
        SubscriberList* list = head.load(std::memory_order_acquire);
        if (list == nullptr) {
            return 0;
        }
        if constexpr (Kind == RouteKind::channel) {
            if (check != nullptr) {
                check_type(*check, p);
            }
        }
        std::uint64_t position = 0;
        if constexpr (Concurrent) {
            position = count_publish(domain_, *record, slot, *list);
        } else {
            position = bump<false>(list->counter);
        }
        if ((position & SubscriberList::closed_bit) != 0) [[unlikely]] {
            list = next_open_list(record, slot, head, list, position);
            if (list == nullptr) {
                return 0;
            }
            if constexpr (Kind == RouteKind::channel) {
                if (check != nullptr) {
                    check_type(*check, p); // the channel may have been rebound meanwhile
                }
            }
        }
        const Delivery delivery{
            p, Route{Kind == RouteKind::pattern ? MessageKind::pmessage : MessageKind::message,
                     pattern, position + 1}};
        if (list->wants_envelope) {
            p.stamp_time();
        }
        std::size_t receivers = 0;
        SubscriptionCore* const* items = list->items();
        const std::uint32_t n = list->size;
        for (std::uint32_t i = 0; i < n; ++i) {
            SubscriptionCore* s = items[i];
            if constexpr (Concurrent) {
                slot.enter(s); // before the active check: unsubscribe(s) waits for this call
            }
            if (!s->is_active()) [[unlikely]] {
                s->skipped.fetch_add(1, std::memory_order_relaxed);
                continue;
            }
            if constexpr (Kind == RouteKind::pattern) {
                if (!(s->payload_type() == *p.type->key)) [[unlikely]] {
                    s->skipped.fetch_add(1, std::memory_order_relaxed);
                    type_mismatches_.fetch_add(1, std::memory_order_relaxed);
                    continue;
                }
            }
            const DeliveryOutcome outcome = s->ops->deliver(*s, delivery);
            if (outcome == DeliveryOutcome::received) [[likely]] {
                ++receivers;
            } else {
                receivers += settle(delivery, outcome);
            }
        }
        return receivers;
    }

    /// A delivery that did not simply succeed (its subscription is in the publication's
    /// settlement). Returns 1 if it still made a receiver.
    [[gnu::noinline]] std::size_t settle(const Delivery& delivery, DeliveryOutcome outcome) {
        Publication& p = delivery.publication;
        switch (outcome) {
        case DeliveryOutcome::failed: {
            Settlement& settlement = *p.settlement;
            // (the subject failed; its exception goes to the sink, its dead letter waits)
            SubscriptionCore& s = *settlement.subject;
            const Failure failure{p.channel, delivery.route.pattern, p.payload, p.type,
                                  std::exchange(settlement.error, nullptr)};
            sink_.handler_failed(s, failure, &settlement.first_error);
            if (wants_dead_letter(failure)) {
                settlement.dead_letters.push_back(make_dead_letter(s, failure));
            }
            return 1; // it received the message; its handler threw
        }
        case DeliveryOutcome::disconnect:
            disconnect(*static_cast<QueuedCore*>(p.settlement->subject), p.channel);
            return 0;
        case DeliveryOutcome::dropped:
        case DeliveryOutcome::filtered:
        case DeliveryOutcome::received:
            break;
        }
        return 0;
    }

    /// `Overflow::disconnect`: the subscription ends, its queue is discarded (counted) and the
    /// error hook is told. The list being iterated is a snapshot: replacing it is safe.
    void disconnect(QueuedCore& q, std::string_view channel) {
        if (!registry_.detach(q, SubscriptionState::disconnected)) {
            return;
        }
        q.discard_disconnected();
        registry_.fold_drops(q);
        sink_.report(
            ErrorInfo{ErrorKind::queue_disconnect, channel, q.pattern_text, q.id, nullptr});
        registry_.reclaimer().collect();
    }

    bool wants_dead_letter(const Failure& failure) const noexcept {
        return !options_.dead_letter_channel.empty() && failure.type != nullptr &&
               failure.channel != options_.dead_letter_channel;
    }

    static DeadLetter make_dead_letter(const SubscriptionCore& core, const Failure& failure) {
        return DeadLetter{std::string(failure.channel), std::string(failure.pattern), core.id,
                          failure.error, failure.type->copy_to_any(failure.payload)};
    }

    void publish_dead_letter(DeadLetter& letter) {
        try {
            publish<DeadLetter>(options_.dead_letter_channel, letter, &letter);
        } catch (...) {
            // The dead-letter channel is bound to another type or nesting is too deep: the
            // failure itself is already counted and reported.
        }
    }

    /// After the publication's dispatch level closed: its dead letters go out, at the
    /// publisher's own nesting level (not from inside the failed delivery), then the first
    /// failure is rethrown for `ExceptionPolicy::rethrow_after`.
    [[gnu::noinline]] void after_failures(std::unique_ptr<Settlement> settlement) {
        for (DeadLetter& letter : settlement->dead_letters) {
            publish_dead_letter(letter);
        }
        if (std::exception_ptr first = std::move(settlement->first_error)) {
            settlement.reset();
            std::rethrow_exception(first);
        }
    }

    /// The publication's payload type must be the channel's. Read after the list: a rebinding
    /// is stored before the first list of the new type is published.
    /// Inline, the common case: the same key object (one per type in a program). Keys of one
    /// type from two shared libraries compare by name, off the hot path.
    HERALD_ALWAYS_INLINE static void check_type(const Channel& channel, const Publication& p) {
        const TypeKey& bound = channel.bound_type();
        if (&bound != p.type->key) [[unlikely]] {
            check_type_by_name(channel, bound, p);
        }
    }

    [[gnu::noinline]] static void check_type_by_name(const Channel& channel, const TypeKey& bound,
                                                     const Publication& p) {
        if (!(bound == *p.type->key)) {
            throw type_mismatch_error(channel.name, bound.name, p.type->key->name);
        }
    }

    /// A writer closed `list` and is about to publish its successor: wait for it and count
    /// this publication there instead.
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
            if constexpr (Concurrent) {
                position = count_publish(domain_, *record, slot, *next);
            } else {
                (void)record;
                (void)slot;
                position = bump<false>(next->counter);
            }
            if ((position & SubscriberList::closed_bit) == 0) {
                return next;
            }
            list = next;
        }
    }

    [[gnu::noinline]] std::size_t refuse_depth(std::string_view name) {
        depth_exceeded_.fetch_add(1, std::memory_order_relaxed);
        throw dispatch_depth_error(name, options_.max_depth);
    }

    Registry<Concurrent>& registry_;
    ErrorSink<Concurrent>& sink_;
    EpochDomain& domain_;
    const BrokerOptions& options_;
    std::atomic<std::uint64_t> depth_exceeded_{0};
    std::atomic<std::uint64_t> type_mismatches_{0};
};

} // namespace detail
HERALD_NAMESPACE_END
