#pragma once
// The queued part of a subscription, whatever its payload and handler: the bounded queue under
// its overflow policy (producer side) and mailbox-style scheduling (consumer side): a
// subscription is scheduled at most once at a time, so its handler never runs concurrently
// with itself. Over 700 lines: the producer side, the consumer turn and the waiter list of
// coroutine receivers share one state (ring, turn, waiters) that is not split yet; the next
// step is a ring-side and a consumer-side file.

#include <herald/detail/asymmetric_fence.hpp>
#include <herald/detail/bounded_ring.hpp>
#include <herald/detail/conflating_store.hpp>
#include <herald/detail/epoch.hpp>
#include <herald/detail/message_node.hpp>
#include <herald/detail/platform.hpp>
#include <herald/detail/publication.hpp>
#include <herald/detail/subscription_core.hpp>
#include <herald/detail/worker_pool.hpp>
#include <herald/errors.hpp>
#include <herald/queue.hpp>
#include <herald/stats.hpp>
#include <herald/version.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

HERALD_NAMESPACE_BEGIN
namespace detail {

/// Which queued subscription, if any, the current thread is consuming (so a `block` publisher
/// never waits for a queue only it could drain).
inline const void*& consuming_now() noexcept {
    thread_local const void* current = nullptr;
    return current;
}

struct QueuedCore;

/// What a coroutine publisher (coroutine.hpp's `publish_suspending`) collects while it
/// publishes: each `block` queue it found full, with the message it could not push yet. The
/// entry holds a reference on the queue and on the message node.
struct DeferredPushes {
    struct Entry {
        QueuedCore* queue;
        std::uint64_t sequence;
        MessageNode* node;
        std::chrono::steady_clock::time_point deadline; // now + the queue's block_timeout
    };
    std::vector<Entry> entries;
};

/// The deferral of the publish running on this thread, if it is a coroutine's.
inline DeferredPushes*& deferring_now() noexcept {
    thread_local DeferredPushes* current = nullptr;
    return current;
}

/// A receiver waiting without a thread: a coroutine or an asynchronous operation parked on a
/// polled queue (coroutine.hpp). Linked into the queue's waiter list under `wait_mutex` and
/// counted in `waiters`, so a producer pays nothing more than today's check when nobody waits.
/// Whoever moves `claim` from `armed` to `claimed` (a producer, the end of the subscription,
/// a timer, or the waiter itself) owns it and calls `woken()` once; a waiter not claimed stays
/// untouched by every thread but its owner once it is unlinked.
struct QueueWaiter {
    static constexpr std::uint8_t armed = 0, claimed = 1;
    QueueWaiter() = default;
    QueueWaiter(const QueueWaiter&) = delete;
    QueueWaiter& operator=(const QueueWaiter&) = delete;

    /// Called by the claimer, outside every herald lock: schedules the waiter's retry where
    /// its receiver resumes. Must not throw.
    virtual void woken() noexcept = 0;

    std::atomic<std::uint8_t> claim{claimed}; // not armed until it is listed
    bool listed = false;                      // under the queue's wait_mutex
    QueueWaiter* prev = nullptr;              // the queue's list, under its wait_mutex
    QueueWaiter* next = nullptr;
    QueueWaiter* woken_next = nullptr; // the claimer's private chain

protected:
    ~QueueWaiter() = default;
};

/// The state shared by every queued subscription, whatever its payload and handler.
struct QueuedCore : SubscriptionCore {
    QueuedCore(const SubscriptionOps& kind_ops, bool envelope, QueueOptions opts,
               bool concurrent_broker)
        : SubscriptionCore(kind_ops, envelope), options(std::move(opts)),
          concurrent(concurrent_broker) {
        if (options.capacity == 0) {
            throw queue_options_error(
                "herald: queued{.capacity = 0} is invalid: a queue needs room for at least one "
                "message (there is no unbounded queue)");
        }
        if (options.overflow == Overflow::conflate) {
            conflated.emplace(options.capacity);
        } else {
            ring.emplace(options.capacity);
        }
    }

    QueuedCore(const QueuedCore&) = delete;
    QueuedCore& operator=(const QueuedCore&) = delete;
    ~QueuedCore() { discard_all(); } // the last reference: nothing can consume any more

    // ---- producer side --------------------------------------------------------------------

    /// The delivery of a queued subscription: enqueues under the overflow policy.
    static DeliveryOutcome enqueue(SubscriptionCore& base, const Delivery& d) {
        return static_cast<QueuedCore&>(base).offer(d.publication, d.route);
    }

    DeliveryOutcome offer(Publication& p, const Route& route) {
        MessageNode& node = p.shared_node();
        if (wants_envelope && node.published_at == std::chrono::system_clock::time_point{}) {
            // The first receiver of this publication that wants the envelope: stamp the
            // shared node before it is visible to this queue's consumer. Queues filled earlier
            // never read the time (their subscribers take the bare payload).
            p.stamp_time();
            node.published_at = p.published_at;
        }
        QueueEntry item{&node, route.sequence};
        item.node->add_ref();
        bool accepted = true;
        bool overflowed = false;
        switch (options.overflow) {
        case Overflow::drop_newest:
            accepted = ring->try_push(item);
            if (!accepted) {
                drops_newest.fetch_add(1, std::memory_order_relaxed);
            }
            break;
        case Overflow::drop_oldest:
            while (!ring->try_push(item)) {
                QueueEntry victim;
                if (ring->try_pop(victim)) {
                    victim.node->release();
                    drops_oldest.fetch_add(1, std::memory_order_relaxed);
                    overflowed = true;
                }
            }
            break;
        case Overflow::conflate: {
            const auto r = conflated->push(item);
            if (r.replaced) {
                drops_conflated.fetch_add(1, std::memory_order_relaxed);
            }
            if (r.evicted) {
                drops_oldest.fetch_add(1, std::memory_order_relaxed);
                overflowed = true;
            }
            break;
        }
        case Overflow::block:
            if (DeferredPushes* d = deferring_now(); d != nullptr && consuming_now() != this) {
                if (ring->try_push(item)) {
                    break;
                }
                // A coroutine publisher: the message waits with it, not in this thread.
                d->entries.push_back({this, item.sequence, item.node,
                                      std::chrono::steady_clock::now() + options.block_timeout});
                add_ref();
                return DeliveryOutcome::received; // the awaitable corrects its count later
            }
            accepted = push_blocking(item);
            if (!accepted) {
                drops_timed_out.fetch_add(1, std::memory_order_relaxed);
            }
            break;
        case Overflow::disconnect:
            accepted = ring->try_push(item);
            if (!accepted) {
                drops_disconnected.fetch_add(1, std::memory_order_relaxed);
                item.node->release();
                slow_consumer(p.channel);
                p.report(*this);
                return DeliveryOutcome::disconnect; // the dispatcher disconnects it
            }
            break;
        }
        if (!accepted) {
            item.node->release();
            overflowed = true;
        }
        if (overflowed) {
            note_high_water(options.capacity);
            slow_consumer(p.channel);
        }
        if (!accepted) {
            return DeliveryOutcome::dropped;
        }
        wake_consumer();
        return DeliveryOutcome::received;
    }

    bool push_blocking(const QueueEntry& item) {
        if (ring->try_push(item)) {
            return true;
        }
        if (consuming_now() == this) {
            return false; // only this thread could make room: waiting would only time out
        }
        const auto deadline = std::chrono::steady_clock::now() + options.block_timeout;
        unsigned attempt = 0;
        while (!ring->try_push(item)) {
            if (!is_active() || std::chrono::steady_clock::now() >= deadline) {
                return false;
            }
            if (++attempt < 64) {
                std::this_thread::yield();
            } else {
                std::this_thread::sleep_for(std::chrono::microseconds(20));
            }
        }
        return true;
    }

    /// One retry of a deferred push (`DeferredPushes`): pushed (true), or still full (false,
    /// nothing changed). On the end of the subscription or once `expired`, the message is
    /// dropped (counted) and `dropped` set; true then too.
    bool retry_deferred(const DeferredPushes::Entry& e, bool expired, bool& dropped) {
        QueueEntry item{e.node, e.sequence};
        if (!is_active()) {
            dropped = true;
            item.node->release();
            // It never reached the queue; as one taken off it after the end, the broker
            // counts it if this subscription's drops are already in its total.
            if (std::shared_ptr<SubscriptionHost> holder = host.lock()) {
                holder->discarded_after_end(*this);
            } else {
                drops_discarded.fetch_add(1, std::memory_order_relaxed);
            }
            return true;
        }
        if (ring->try_push(item)) {
            dropped = false;
            wake_consumer();
            return true;
        }
        if (!expired) {
            return false;
        }
        dropped = true;
        item.node->release();
        drops_timed_out.fetch_add(1, std::memory_order_relaxed);
        note_high_water(options.capacity);
        slow_consumer(item.node->channel());
        return true;
    }

    void slow_consumer(std::string_view channel) noexcept {
        if (in_episode.exchange(true, std::memory_order_acq_rel)) {
            return; // edge-triggered: once per overflow episode
        }
        episodes.fetch_add(1, std::memory_order_relaxed);
        if (options.on_slow_consumer) {
            try {
                options.on_slow_consumer(
                    SlowConsumer{id, channel, options.overflow, options.capacity});
            } catch (...) {
                // A throwing callback must not break the publisher.
            }
        }
    }

    /// The subscription was disconnected (`Overflow::disconnect`): its queue goes with it,
    /// counted as disconnected drops, and receivers waiting on it wake up.
    void discard_disconnected() {
        note_high_water(size());
        QueueEntry item;
        while (pop(item)) {
            item.node->release();
            drops_disconnected.fetch_add(1, std::memory_order_relaxed);
        }
        wake_waiters();
    }

    /// Called after an accepted push: wakes whoever consumes this queue.
    void wake_consumer() {
        // Pairs with the heavy fence in finish_turn()/wait_until_ready(): either the consumer
        // sees the new item, or this thread sees that nobody holds the consumer turn / a
        // waiter. The producer's side is the cheap one: it runs once per message, the
        // consumer's only when it is about to stop.
        AsymmetricFence::light();
        if (options.executor.is_polled()) {
            if (waiters.load(std::memory_order_relaxed) != 0) {
                wake_waiters();
            }
            return;
        }
        std::uint8_t expected = idle;
        if (turn.load(std::memory_order_relaxed) == idle &&
            turn.compare_exchange_strong(expected, scheduled, std::memory_order_acq_rel)) {
            schedule();
        }
    }

    /// Hands the turn to the executor (the turn is `scheduled`).
    void schedule() {
        add_ref(); // released by the task
        if (options.executor.is_workers()) {
            pool->submit(PoolTask{&run_pool_task, this});
            return;
        }
        options.executor.submit([this] {
            run_turn(false);
            release();
        });
    }

    static void run_pool_task(void* self) noexcept {
        auto* core = static_cast<QueuedCore*>(self);
        core->run_turn(true);
        core->release();
    }

    /// Another subscription waits for this thread.
    bool others_waiting() const noexcept {
        // A user executor's queue cannot be seen: hand the turn over after every batch there.
        return !options.executor.is_workers() || pool->has_waiting();
    }

    // ---- consumer side --------------------------------------------------------------------

    bool pop(QueueEntry& out) { return ring ? ring->try_pop(out) : conflated->try_pop(out); }
    std::size_t size() const { return ring ? ring->size() : conflated->size(); }

    /// Invokes the handler on up to `max` queued messages on this thread. The caller holds
    /// the turn.
    std::size_t consume(std::size_t max) {
        note_high_water(size());
        const void* previous = std::exchange(consuming_now(), this);
        std::size_t n = 0;
        QueueEntry item;
        while (n < max && pop(item)) {
            ++n;
            invoke(item);
        }
        consuming_now() = previous;
        if (in_episode.load(std::memory_order_relaxed) && size() == 0) {
            in_episode.store(false, std::memory_order_release);
        }
        return n;
    }

    void invoke(const QueueEntry& item) {
        if (concurrent) {
            // The invocation is a dispatch like an inline one: unsubscribe waits for it.
            EpochDomain& domain = EpochDomain::instance();
            ThreadRecord& record = this_thread_record(domain);
            if (record.depth >= max_dispatch_depth) [[unlikely]] {
                refuse_too_deep(item);
            } else {
                CriticalSection section(domain, record);
                DispatchSlot slot(record, this);
                invoke_checked(item);
            }
        } else {
            invoke_checked(item);
        }
        item.node->release();
    }

    /// This thread (polling, or running an executor's task, from inside nested handlers) has
    /// no dispatch level left to record the invocation in, so unsubscribe could not wait for
    /// it: refused like a publish nested too deep, counted and reported as the handler's error.
    [[gnu::noinline]] void refuse_too_deep(const QueueEntry& item) {
        std::shared_ptr<SubscriptionHost> holder = host.lock();
        if (!holder) {
            errors.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        // No payload type: no dead letter for a message the handler never saw.
        holder->queued_handler_failed(
            *this, Failure{item.node->channel(), pattern_text, item.node->payload, nullptr,
                           std::make_exception_ptr(
                               dispatch_depth_error(item.node->channel(), max_dispatch_depth))});
    }

    void invoke_checked(const QueueEntry& item) {
        if (!is_active()) {
            // Taken off the queue before the end was seen: the unsubscribe may already have
            // added this subscription's drops to the broker's total, so the broker counts it.
            if (std::shared_ptr<SubscriptionHost> holder = host.lock()) {
                holder->discarded_after_end(*this);
            } else {
                drops_discarded.fetch_add(1, std::memory_order_relaxed);
            }
            return;
        }
        std::shared_ptr<SubscriptionHost> holder;
        if (!concurrent) {
            // A single-threaded broker frees what a handler retires only once it returns.
            holder = host.lock();
            if (holder) {
                holder->enter_handler();
            }
        }
        struct End {
            SubscriptionHost* h;
            ~End() {
                if (h != nullptr) {
                    h->leave_handler();
                }
            }
        } end{holder.get()};
        if (ops->invoke(*this, item)) {
            delivered.store(delivered.load(std::memory_order_relaxed) + 1,
                            std::memory_order_relaxed); // one consumer at a time
        }
    }

    /// Task body on the workers or a user executor. Does nothing if the turn was taken over
    /// (by a shutdown) while the task waited to run.
    void run_turn(bool spin) {
        std::uint8_t expected = scheduled;
        if (!turn.compare_exchange_strong(expected, running, std::memory_order_acq_rel)) {
            return;
        }
        std::size_t streak = 0; // messages handled in this turn
        for (;;) {
            const std::size_t n = consume(batch);
            streak += n;
            if (n == batch) {
                if (!others_waiting()) {
                    continue; // nobody else needs this thread: no hand-over per batch
                }
                // Keep the turn, but let other subscriptions on the same threads run.
                turn.store(scheduled, std::memory_order_release);
                schedule();
                return;
            }
            if (spin) {
                const Waited waited = spin_for_work(streak >= busy_streak);
                if (waited == Waited::long_wait) {
                    // A gap the short spin did not cover: count afresh, so that a slow steady
                    // stream, after one burst, parks between messages again.
                    streak = 0;
                }
                if (waited != Waited::in_vain) {
                    continue;
                }
            }
            if (!finish_turn()) {
                return;
            }
        }
    }

    /// Gives the turn back; true if work arrived meanwhile and the turn was taken back.
    bool finish_turn() {
        turn.store(idle, std::memory_order_seq_cst);
        AsymmetricFence::heavy();
        if (size() == 0) {
            return false;
        }
        std::uint8_t expected = idle;
        return turn.compare_exchange_strong(expected, running, std::memory_order_acq_rel);
    }

    /// Takes the turn for good (shutdown): waits for a running consumer to finish and takes
    /// over a scheduled one that has not started. Never returns it.
    void seize_turn() {
        for (;;) {
            std::uint8_t expected = turn.load(std::memory_order_acquire);
            if (expected != running &&
                turn.compare_exchange_weak(expected, running, std::memory_order_acq_rel)) {
                return;
            }
            std::this_thread::yield();
        }
    }

    /// Waits a little for more work before giving the turn back: cheaper than a wake-up when
    /// messages come close together. Short (spinning) after a quiet turn: at 100 k msg/s a
    /// 20 µs spin kept the consumer from ever sleeping, and on a busy machine the thread that
    /// never sleeps is the one preempted (W4 latency p50 7.7 µs with it, 2.8 µs with 2 µs).
    /// Longer (yielding, so a publisher on the same core still runs) after a busy one, where
    /// a short spin parked and was woken again thousands of times per million messages. Not
    /// for a slow stream: a consumer that never sleeps is preempted for whole scheduler ticks
    /// on a busy machine (W4 latency p99 of 4 ms when a burst left it yielding for good).
    enum class Waited : std::uint8_t { in_vain, short_wait, long_wait };
    Waited spin_for_work(bool busy) const {
        auto now = std::chrono::steady_clock::now();
        const auto until = now + spin_before_parking;
        do {
            for (int i = 0; i < 64; ++i) {
                if (size() != 0) {
                    return Waited::short_wait;
                }
                cpu_relax(); // fewer reads of the producers' cursor while it is being written
            }
            if (others_waiting()) {
                return Waited::in_vain; // another subscription needs this thread more
            }
            now = std::chrono::steady_clock::now();
        } while (now < until);
        if (busy) {
            const auto yield_until = now + yield_before_parking;
            do {
                std::this_thread::yield();
                if (size() != 0) {
                    return Waited::long_wait;
                }
            } while (!others_waiting() && std::chrono::steady_clock::now() < yield_until);
        }
        return Waited::in_vain;
    }

    /// poll()/drain()/wait_for() on the subscriber's own thread.
    std::size_t pump(std::size_t max, std::chrono::nanoseconds wait) {
        std::uint8_t expected = idle;
        if (!turn.compare_exchange_strong(expected, running, std::memory_order_acq_rel)) {
            return 0; // another thread is running this handler (never concurrently)
        }
        std::size_t n = consume(max);
        if (n == 0 && wait > std::chrono::nanoseconds::zero()) {
            wait_until_ready(std::chrono::steady_clock::now() + wait);
            n = consume(max);
        }
        turn.store(idle, std::memory_order_release);
        return n;
    }

    /// Blocks until something is queued, the subscription ends, or `deadline`.
    void wait_until_ready(std::chrono::steady_clock::time_point deadline) {
        std::unique_lock lock(wait_mutex);
        waiters.fetch_add(1, std::memory_order_seq_cst);
        AsymmetricFence::heavy();
        const auto ready = [&] { return size() != 0 || !is_active(); };
        if (deadline == std::chrono::steady_clock::time_point::max()) {
            wait_cv.wait(lock, ready);
        } else {
            wait_cv.wait_until(lock, deadline, ready);
        }
        waiters.fetch_sub(1, std::memory_order_relaxed);
    }

    /// Wakes every receiver: threads blocked in `wait_until_ready` and parked waiters (each
    /// claimed and woken outside the lock: its retry may run inline on a user executor).
    void wake_waiters() {
        QueueWaiter* chain = nullptr;
        {
            std::lock_guard lock(wait_mutex);
            wait_cv.notify_all();
            chain = claim_parked_locked();
        }
        wake_chain(chain);
    }

    /// Only the threads blocked in `wait_until_ready`: for callers holding the broker's writer
    /// lock, which wake the parked waiters afterwards with `wake_waiters()`.
    void notify_blocked() {
        std::lock_guard lock(wait_mutex);
        wait_cv.notify_all();
    }

    /// Parks `w` (armed) unless the queue already has something for it, it ended, or `stop`
    /// says the wait is over; then `w` stays unlisted, claimed by the caller, and this returns
    /// false. True: `w` is armed and the caller must not touch it any more (its claimer will
    /// call `woken()`, maybe on another thread, maybe already).
    template <class Stop>
    bool park(QueueWaiter& w, Stop&& stop) {
        std::unique_lock lock(wait_mutex);
        w.claim.store(QueueWaiter::armed, std::memory_order_seq_cst);
        link_locked(w);
        waiters.fetch_add(1, std::memory_order_seq_cst);
        // Pairs with the light fence of wake_consumer(): either the producer sees `waiters`,
        // or this thread sees the message it pushed (as in wait_until_ready).
        AsymmetricFence::heavy();
        if (size() == 0 && is_active() && !stop()) {
            return true;
        }
        std::uint8_t expected = QueueWaiter::armed;
        if (!w.claim.compare_exchange_strong(expected, QueueWaiter::claimed,
                                             std::memory_order_seq_cst)) {
            return true; // a timer claimed it meanwhile: its retry is on the way
        }
        unlink_locked(w);
        return false;
    }

    /// Takes a claimed waiter off the list if it is still there (a timer claimed it).
    void unpark(QueueWaiter& w) {
        std::lock_guard lock(wait_mutex);
        if (w.listed) {
            unlink_locked(w);
        }
    }

    void link_locked(QueueWaiter& w) noexcept {
        w.prev = nullptr;
        w.next = parked;
        if (parked != nullptr) {
            parked->prev = &w;
        }
        parked = &w;
        w.listed = true;
    }

    void unlink_locked(QueueWaiter& w) noexcept {
        if (w.prev != nullptr) {
            w.prev->next = w.next;
        } else {
            parked = w.next;
        }
        if (w.next != nullptr) {
            w.next->prev = w.prev;
        }
        w.listed = false;
        waiters.fetch_sub(1, std::memory_order_relaxed);
    }

    /// Unlinks every parked waiter; returns the chain of those this call claimed.
    QueueWaiter* claim_parked_locked() noexcept {
        QueueWaiter* chain = nullptr;
        while (parked != nullptr) {
            QueueWaiter* w = parked;
            unlink_locked(*w);
            std::uint8_t expected = QueueWaiter::armed;
            if (w->claim.compare_exchange_strong(expected, QueueWaiter::claimed,
                                                 std::memory_order_seq_cst)) {
                w->woken_next = chain;
                chain = w;
            }
        }
        return chain;
    }

    static void wake_chain(QueueWaiter* chain) noexcept {
        while (chain != nullptr) {
            QueueWaiter* w = chain;
            chain = w->woken_next; // read first: woken() may end the waiter's life
            w->woken();
        }
    }

    /// Drops everything queued, counted as `discarded`.
    void discard_all() {
        QueueEntry item;
        while (pop(item)) {
            item.node->release();
            drops_discarded.fetch_add(1, std::memory_order_relaxed);
        }
    }

    void note_high_water(std::size_t n) noexcept {
        std::uint64_t seen = high_water.load(std::memory_order_relaxed);
        while (n > seen && !high_water.compare_exchange_weak(seen, n, std::memory_order_relaxed)) {
        }
    }

    // ---- what handles and the broker ask of a queue ---------------------------------------

    /// The queue's counters (the broker adds `active`, `skipped` and `errors`).
    void fill_stats(SubscriptionStats& s) const {
        s.delivered = delivered.load(std::memory_order_relaxed);
        s.drops.newest = drops_newest.load(std::memory_order_relaxed);
        s.drops.oldest = drops_oldest.load(std::memory_order_relaxed);
        s.drops.conflated = drops_conflated.load(std::memory_order_relaxed);
        s.drops.timed_out = drops_timed_out.load(std::memory_order_relaxed);
        s.drops.disconnected = drops_disconnected.load(std::memory_order_relaxed);
        s.drops.discarded = drops_discarded.load(std::memory_order_relaxed);
        s.dropped = s.drops.total();
        s.queued = size();
        // What waits now counts too: a mailbox's consumer is its receiver, not consume().
        s.high_water =
            std::max<std::uint64_t>(high_water.load(std::memory_order_relaxed), s.queued);
    }

    /// `Subscription::poll()` and friends: only a polled subscription with a handler runs.
    std::size_t poll(std::size_t max, std::chrono::nanoseconds wait) {
        if (!options.executor.is_polled() || ops->invoke == nullptr) {
            return 0;
        }
        return pump(max, wait);
    }

    /// The subscription ended (unsubscribe, shutdown): what is queued is discarded (unless a
    /// draining shutdown leaves a mailbox its messages) and waiters wake up.
    void end(bool discard) {
        if (discard) {
            discard_all();
        }
        wake_waiters();
    }

    static constexpr std::size_t batch = 256;
    static constexpr std::chrono::microseconds spin_before_parking{2};
    static constexpr std::chrono::microseconds yield_before_parking{50};
    static constexpr std::size_t busy_streak = 64; // messages in a turn that make it busy

    QueueOptions options;
    bool concurrent;
    std::string pattern_text; // for pattern subscriptions: Message::pattern
    std::optional<BoundedRing> ring;
    std::optional<ConflatingStore> conflated;
    WorkerPool* pool = nullptr;

    // Who may consume: nobody (idle), a submitted task (scheduled), or the one thread
    // draining now (running): a task, a poll call or a shutdown. Producers read `turn` and
    // `waiters` on every message and the consumer writes them only when it starts or stops,
    // so they get a cache line of their own, away from the counters written per message.
    static constexpr std::uint8_t idle = 0, scheduled = 1, running = 2;
    alignas(64) std::atomic<std::uint8_t> turn{idle};
    std::atomic<std::uint32_t> waiters{0};

    // Written by the consumer on every message.
    alignas(64) std::atomic<std::uint64_t> delivered{0};

    // Written on overflow (by producers) and at the end of a drain.
    alignas(64) std::atomic<bool> in_episode{false};
    bool drops_folded = false; // its drops are in the broker's total (broker lock)
    std::atomic<std::uint64_t> episodes{0};
    std::atomic<std::uint64_t> drops_newest{0}, drops_oldest{0}, drops_conflated{0},
        drops_timed_out{0}, drops_disconnected{0}, drops_discarded{0};
    std::atomic<std::uint64_t> high_water{0};

    std::mutex wait_mutex;
    std::condition_variable wait_cv;
    QueueWaiter* parked = nullptr; // parked waiters (coroutines), under wait_mutex
};

/// The queued part of a subscription; null for an inline one.
inline QueuedCore* queued_part(SubscriptionCore& core) noexcept {
    return core.is_queued() ? static_cast<QueuedCore*>(&core) : nullptr;
}
inline const QueuedCore* queued_part(const SubscriptionCore& core) noexcept {
    return core.is_queued() ? static_cast<const QueuedCore*>(&core) : nullptr;
}

} // namespace detail
HERALD_NAMESPACE_END
