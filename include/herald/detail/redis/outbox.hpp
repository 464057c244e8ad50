#pragma once
// The bridge's outbox: publishes waiting to be written to the server, bounded, in order, with a
// counted overflow policy. Entries carry the local-interest generation they were published in,
// so that the I/O thread writes a publish only after the upstream subscriptions that existed
// when it was made are confirmed (a process that subscribes and then publishes gets its own
// message back).

#include <herald/detail/redis/options.hpp>
#include <herald/errors.hpp>
#include <herald/version.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

HERALD_NAMESPACE_BEGIN
namespace redis {

/// Why a message handed to the bridge did not reach the server (see `Stats`).
enum class DropCause : std::uint8_t { overflow, in_flight, shutdown, server_error };

/// "overflow", "in_flight", "shutdown" or "server_error".
/// **Thread-safety:** pure function.
constexpr std::string_view to_string(DropCause cause) noexcept {
    switch (cause) {
    case DropCause::overflow:
        return "overflow";
    case DropCause::in_flight:
        return "in_flight";
    case DropCause::shutdown:
        return "shutdown";
    case DropCause::server_error:
        return "server_error";
    }
    return "unknown";
}

/// What the future of `Bridge::publish_async` holds for a message that was dropped.
class message_dropped_error : public error {
public:
    message_dropped_error(DropCause cause, std::string_view detail)
        : error("herald::redis: message dropped (" + std::string(to_string(cause)) +
                "): " + std::string(detail)),
          cause_(cause) {}
    DropCause cause() const noexcept { return cause_; }

private:
    DropCause cause_;
};

/// Thrown by a publish when the outbox is full and the policy is `Overflow::reject`.
class outbox_full_error : public error {
public:
    explicit outbox_full_error(std::size_t capacity)
        : error("herald::redis: the outbox is full (" + std::to_string(capacity) +
                " messages waiting for the server); message rejected") {}
};

} // namespace redis

namespace detail::redis {

using Completion = std::unique_ptr<std::promise<std::size_t>>;

struct OutboxEntry {
    std::string command;      // the formatted PUBLISH
    std::uint64_t generation; // local-interest generation at publish time
    Completion completion;    // set for publish_async
};

inline void fail_completion(Completion& c, herald::redis::DropCause cause,
                            std::string_view detail) noexcept {
    if (c) {
        try {
            c->set_exception(
                std::make_exception_ptr(herald::redis::message_dropped_error(cause, detail)));
        } catch (...) {
        }
        c.reset();
    }
}

class Outbox {
public:
    Outbox(std::size_t capacity, herald::redis::Overflow policy)
        : capacity_(capacity), policy_(policy) {}

    /// Queues `entry` or applies the overflow policy. Throws outbox_full_error for `reject`.
    void push(OutboxEntry entry) {
        OutboxEntry evicted;
        bool dropped_new = false;
        {
            std::lock_guard lock(mutex_);
            if (entries_.size() >= capacity_) {
                dropped_.fetch_add(1, std::memory_order_relaxed);
                switch (policy_) {
                case herald::redis::Overflow::drop_newest:
                    dropped_new = true;
                    break;
                case herald::redis::Overflow::drop_oldest:
                    evicted = std::move(entries_.front());
                    entries_.pop_front();
                    break;
                case herald::redis::Overflow::reject:
                    throw herald::redis::outbox_full_error(capacity_);
                }
            }
            if (!dropped_new) {
                entries_.push_back(std::move(entry));
                size_.store(entries_.size(), std::memory_order_relaxed);
                if (entries_.size() > high_water_.load(std::memory_order_relaxed)) {
                    high_water_.store(entries_.size(), std::memory_order_relaxed);
                }
            }
        }
        // Outside the lock: a future's continuation must not run under it.
        fail_completion(dropped_new ? entry.completion : evicted.completion,
                        herald::redis::DropCause::overflow, "the outbox was full");
    }

    /// True if the first entry may be written (its generation is confirmed).
    bool ready(std::uint64_t confirmed) const {
        std::lock_guard lock(mutex_);
        return !entries_.empty() && entries_.front().generation <= confirmed;
    }

    /// Moves up to `max` entries from the front whose generation is confirmed into `out`.
    void take(std::uint64_t confirmed, std::size_t max, std::vector<OutboxEntry>& out) {
        std::lock_guard lock(mutex_);
        while (max > 0 && !entries_.empty() && entries_.front().generation <= confirmed) {
            out.push_back(std::move(entries_.front()));
            entries_.pop_front();
            --max;
        }
        size_.store(entries_.size(), std::memory_order_relaxed);
    }

    /// Removes everything (shutdown); returns what was removed.
    std::deque<OutboxEntry> take_all() {
        std::lock_guard lock(mutex_);
        std::deque<OutboxEntry> all;
        all.swap(entries_);
        size_.store(0, std::memory_order_relaxed);
        return all;
    }

    std::size_t size() const noexcept { return size_.load(std::memory_order_relaxed); }
    std::size_t high_water() const noexcept { return high_water_.load(std::memory_order_relaxed); }
    std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }

private:
    mutable std::mutex mutex_;
    std::deque<OutboxEntry> entries_;
    const std::size_t capacity_;
    const herald::redis::Overflow policy_;
    std::atomic<std::size_t> size_{0};
    std::atomic<std::size_t> high_water_{0};
    std::atomic<std::uint64_t> dropped_{0};
};

} // namespace detail::redis
HERALD_NAMESPACE_END
