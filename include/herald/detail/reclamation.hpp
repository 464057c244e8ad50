#pragma once
// Reclamation: objects a writer unlinked (subscriber lists, channels, pattern entries,
// subscriptions, tables) are destroyed only once no dispatch can still read them, and always
// outside every broker lock, because destroying a subscription destroys its handler, which may
// own handles that call back into the broker.
//
// `RetireList` is the thread-safe scheme (epochs, see epoch.hpp); `Reclaimer` is what a
// broker holds: the retire list for thread_safe brokers, and for single_threaded ones a plain
// list destroyed when the broker's dispatch nesting returns to zero.

#include <herald/detail/epoch.hpp>
#include <herald/detail/platform.hpp>
#include <herald/version.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

HERALD_NAMESPACE_BEGIN
namespace detail {

/// Objects unlinked by a writer, freed once no reader can still hold them. Destruction runs
/// outside every broker lock (in `collect`), because destroying a subscription destroys its
/// handler, which may own handles that call back into the broker.
class RetireList {
public:
    struct Entry {
        void* object;
        void (*destroy)(void*) noexcept;
        std::uint64_t epoch;
    };

    explicit RetireList(EpochDomain& domain) noexcept : domain_(domain) {}
    RetireList(const RetireList&) = delete;
    RetireList& operator=(const RetireList&) = delete;
    ~RetireList() { destroy_all(take_all()); }

    /// Queues `object` for destruction. Called with the broker's writer lock held.
    ///
    /// When the calling thread is the only one using herald and is not inside a dispatch, no
    /// reader can hold `object`: it goes to this thread's own batch, destroyed by the next
    /// `collect` on this thread (after the writer lock is released) without waiting for an
    /// epoch. A lone thread churning subscriptions thus frees memory right away, while it is
    /// still hot in the allocator's per-thread cache.
    void retire(void* object, void (*destroy)(void*) noexcept) {
        if (this_thread_record(domain_).depth == 0 && !thread_state_destroyed && domain_.alone()) {
            local_batch().push_back(Entry{object, destroy, 0});
            return; // confirmed (with a fence) when the batch is destroyed, see collect
        }
        std::lock_guard lock(mutex_);
        push_locked(object, destroy);
    }

    /// Destroys what no reader can still hold, once enough has accumulated (or always, when
    /// `force`). Called with no broker lock held.
    void collect(bool force = false) {
        if (!thread_state_destroyed && !local_batch().empty()) {
            // The unlinking stores that retired the batch happened before this fence; a thread
            // that starts using herald takes its record with a locked instruction before
            // reading anything. So if no other record is in use now, no other thread can have
            // read what the batch holds, and none can later. Otherwise the batch waits for
            // epochs like everything else.
            full_fence();
            if (domain_.alone()) {
                destroy_local_batch();
            } else {
                std::lock_guard lock(mutex_);
                for (const Entry& e : local_batch()) {
                    push_locked(e.object, e.destroy);
                }
                local_batch().clear();
            }
        }
        if (!force &&
            size_.load(std::memory_order_relaxed) < next_attempt_.load(std::memory_order_relaxed)) {
            return;
        }
        std::vector<Entry> ready;
        {
            std::lock_guard lock(mutex_);
            if (!force && entries_.size() < next_attempt_.load(std::memory_order_relaxed)) {
                return;
            }
            const std::uint64_t now = domain_.try_advance();
            std::size_t kept = 0;
            for (Entry& e : entries_) {
                if (e.epoch + 2 <= now) {
                    ready.push_back(e);
                } else {
                    entries_[kept++] = e;
                }
            }
            entries_.resize(kept);
            size_.store(kept, std::memory_order_relaxed);
            // Grow the threshold with what survives, so a long-running handler pinning an
            // epoch costs amortised O(1) per retirement rather than a scan per retirement.
            next_attempt_.store(kept + batch, std::memory_order_relaxed);
        }
        destroy_all(std::move(ready));
    }

    /// Everything still queued, for a broker that has shut down (no reader can exist).
    std::vector<Entry> take_all() {
        std::lock_guard lock(mutex_);
        if (!thread_state_destroyed) {
            for (const Entry& e : local_batch()) {
                entries_.push_back(e); // this thread's lone retirements: past the grace period
            }
            local_batch().clear();
        }
        next_attempt_.store(batch, std::memory_order_relaxed);
        size_.store(0, std::memory_order_relaxed);
        return std::exchange(entries_, {});
    }

    static void destroy_all(std::vector<Entry> entries) noexcept {
        for (Entry& e : entries) {
            e.destroy(e.object);
        }
    }

    std::size_t pending() const {
        std::lock_guard lock(mutex_);
        return entries_.size();
    }

private:
    void push_locked(void* object, void (*destroy)(void*) noexcept) {
        entries_.push_back(
            Entry{object, destroy, domain_.global_epoch().load(std::memory_order_acquire)});
        size_.store(entries_.size(), std::memory_order_relaxed);
    }

    /// This thread's objects retired while it was alone (see `retire`). Shared by every broker
    /// on the thread: whichever collects first destroys them, which is safe for all of them.
    static std::vector<Entry>& local_batch() noexcept {
        struct Batch {
            std::vector<Entry> entries;
            ~Batch() {
                thread_state_destroyed = true;   // retire and collect stop using the batch
                destroy_all(std::move(entries)); // a retire no collect followed
            }
        };
        thread_local Batch batch;
        return batch.entries;
    }

    /// Destroys this thread's batch. A destructor may retire more (a handler owning handles):
    /// the loop picks that up, and a nested call returns at once. The vectors keep their
    /// capacity, so a steady subscribe/unsubscribe cycle allocates nothing here.
    static void destroy_local_batch() noexcept {
        thread_local bool collecting = false;
        thread_local std::vector<Entry> running;
        if (collecting) {
            return;
        }
        collecting = true;
        while (!local_batch().empty()) {
            running.swap(local_batch());
            for (const Entry& e : running) {
                e.destroy(e.object);
            }
            running.clear();
        }
        collecting = false;
    }

    static constexpr std::size_t batch = 64;
    EpochDomain& domain_;
    mutable std::mutex mutex_;
    std::vector<Entry> entries_;
    std::atomic<std::size_t> size_{0};
    std::atomic<std::size_t> next_attempt_{batch};
};

/// A broker's reclamation, chosen by its concurrency policy.
template <bool Concurrent>
class Reclaimer {
public:
    using Entry = RetireList::Entry;

    explicit Reclaimer(EpochDomain& domain) noexcept : retired_(domain) {}
    Reclaimer(const Reclaimer&) = delete;
    Reclaimer& operator=(const Reclaimer&) = delete;
    ~Reclaimer() { RetireList::destroy_all(take_all()); }

    /// Queues `object` for destruction once no dispatch can reach it. Writer lock held.
    void retire(void* object, void (*destroy)(void*) noexcept) {
        if constexpr (Concurrent) {
            retired_.retire(object, destroy);
        } else {
            deferred_.push_back(Entry{object, destroy, 0});
        }
    }

    /// Destroys what no dispatch can reach any more. Called with no lock held.
    void collect() noexcept {
        if constexpr (Concurrent) {
            retired_.collect();
        } else {
            // Destroying an object may end a subscription whose handler owned a handle, which
            // retires more: the outer loop picks it up, so nested calls return at once.
            // Inside a dispatch, everything waits for its end. Both vectors keep their
            // capacity, so a steady subscribe/unsubscribe cycle allocates nothing here.
            if (collecting_) {
                return;
            }
            collecting_ = true;
            while (depth_ == 0 && !deferred_.empty()) {
                batch_.swap(deferred_);
                for (const Entry& e : batch_) {
                    e.destroy(e.object);
                }
                batch_.clear();
            }
            collecting_ = false;
        }
    }

    /// Everything still waiting, for a broker that has shut down (no dispatch can exist).
    std::vector<Entry> take_all() {
        if constexpr (Concurrent) {
            return retired_.take_all();
        } else {
            return std::exchange(deferred_, {});
        }
    }

    // single_threaded brokers: the nesting depth of their dispatches (handlers publishing),
    // read by the depth limit as well. thread_safe brokers keep it per thread instead, in the
    // thread's record.

    /// The current nesting depth (single_threaded).
    std::size_t depth() const noexcept { return depth_; }
    /// A dispatch or a queued handler starts (single_threaded).
    void enter() noexcept { ++depth_; }
    /// It ends; the outermost end destroys what was retired meanwhile (single_threaded).
    void leave() noexcept {
        if (--depth_ == 0 && !deferred_.empty()) {
            collect();
        }
    }

private:
    RetireList retired_;
    std::size_t depth_ = 0;
    std::vector<Entry> deferred_;
    std::vector<Entry> batch_;
    bool collecting_ = false;
};

} // namespace detail
HERALD_NAMESPACE_END
