#pragma once
// The keys a deduplicating subscription remembers: a set for the lookup and a queue in
// admission order for forgetting, bounded by a count, an age or both (DedupWindow).

#include <herald/detail/policy.hpp>
#include <herald/subscribe_options.hpp>
#include <herald/version.hpp>

#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <unordered_set>
#include <utility>

HERALD_NAMESPACE_BEGIN
namespace detail {

template <class Key, bool Concurrent>
class DedupWindowOf {
public:
    explicit DedupWindowOf(DedupWindow window) : window_(checked(window)) {}
    DedupWindowOf(const DedupWindowOf&) = delete;
    DedupWindowOf& operator=(const DedupWindowOf&) = delete;

    /// True if `key` is not remembered: it is remembered from now on. False for a duplicate.
    bool admit(Key&& key) {
        const Clock::time_point now = window_.age.count() != 0 ? Clock::now() : Clock::time_point{};
        std::lock_guard lock(mutex_);
        forget_expired(now);
        auto [it, inserted] = seen_.insert(std::move(key));
        if (!inserted) {
            return false;
        }
        order_.push_back(Admitted{&*it, now}); // set nodes stay where they are on rehash
        if (window_.count != 0 && order_.size() > window_.count) {
            forget_oldest();
        }
        return true;
    }

    /// Keys remembered now.
    std::size_t size() const {
        std::lock_guard lock(mutex_);
        return order_.size();
    }

private:
    using Clock = std::chrono::steady_clock;
    struct Admitted {
        const Key* key; // its node in seen_
        Clock::time_point at;
    };

    static DedupWindow checked(DedupWindow window) {
        if (window.age.count() < 0) {
            throw subscribe_options_error("herald: dedup window age must not be negative");
        }
        if (window.count == 0 && window.age.count() == 0) {
            throw subscribe_options_error(
                "herald: a dedup window needs a bound: a count of keys, an age, or both");
        }
        return window;
    }

    void forget_expired(Clock::time_point now) {
        if (window_.age.count() == 0) {
            return;
        }
        while (!order_.empty() && now - order_.front().at >= window_.age) {
            forget_oldest();
        }
    }

    void forget_oldest() {
        seen_.erase(seen_.find(*order_.front().key));
        order_.pop_front();
    }

    const DedupWindow window_;
    mutable typename Locks<Concurrent>::Mutex mutex_;
    std::unordered_set<Key> seen_;
    std::deque<Admitted> order_;
};

} // namespace detail
HERALD_NAMESPACE_END
