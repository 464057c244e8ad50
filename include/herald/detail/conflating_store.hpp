#pragma once
// The queue of a queued subscription under `Overflow::conflate`: the latest message per
// channel.

#include <herald/detail/message_node.hpp>
#include <herald/version.hpp>

#include <cstddef>
#include <iterator>
#include <list>
#include <mutex>
#include <string_view>
#include <unordered_map>

HERALD_NAMESPACE_BEGIN
namespace detail {

/// Latest message per channel, in the order of their latest publishes. Not lock-free: the
/// conflating case (dashboards, presence) is about freshness, not throughput.
class ConflatingStore {
public:
    explicit ConflatingStore(std::size_t capacity) : capacity_(capacity) {}
    ConflatingStore(const ConflatingStore&) = delete;
    ConflatingStore& operator=(const ConflatingStore&) = delete;
    ~ConflatingStore() {
        for (QueueEntry& it : order_) {
            it.node->release();
        }
    }

    struct PushResult {
        bool replaced = false; // an older message of the same channel was dropped
        bool evicted = false;  // full: the oldest pending channel was dropped
    };

    PushResult push(const QueueEntry& item) {
        PushResult result;
        std::lock_guard lock(mutex_);
        const std::string_view key = item.node->channel();
        if (auto found = index_.find(key); found != index_.end()) {
            MessageNode* old = found->second->node;
            order_.erase(found->second);
            index_.erase(found);
            old->release();
            result.replaced = true;
        } else if (order_.size() >= capacity_) {
            QueueEntry oldest = order_.front();
            index_.erase(std::string_view(oldest.node->channel()));
            order_.pop_front();
            oldest.node->release();
            result.evicted = true;
        }
        order_.push_back(item);
        index_.emplace(std::string_view(order_.back().node->channel()), std::prev(order_.end()));
        return result;
    }

    bool try_pop(QueueEntry& out) {
        std::lock_guard lock(mutex_);
        if (order_.empty()) {
            return false;
        }
        out = order_.front();
        index_.erase(std::string_view(out.node->channel()));
        order_.pop_front();
        return true;
    }

    std::size_t size() const {
        std::lock_guard lock(mutex_);
        return order_.size();
    }

private:
    const std::size_t capacity_;
    mutable std::mutex mutex_;
    std::list<QueueEntry> order_;
    std::unordered_map<std::string_view, std::list<QueueEntry>::iterator> index_;
};

} // namespace detail
HERALD_NAMESPACE_END
