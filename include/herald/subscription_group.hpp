#pragma once
/// \file
/// `herald::SubscriptionGroup`: many subscriptions owned together and ended together.

#include <herald/subscription.hpp>
#include <herald/version.hpp>

#include <cstddef>
#include <utility>
#include <vector>

HERALD_NAMESPACE_BEGIN

/// Owns many subscriptions and ends them together: the "unsubscribe_all(session)" of a
/// component, a connection or a session.
/// **Thread-safety:** like a container: not for concurrent use of one group object.
/// **Lifetime:** destroying the group ends every subscription in it, in reverse order of
/// addition.
class SubscriptionGroup {
public:
    SubscriptionGroup() = default;
    SubscriptionGroup(SubscriptionGroup&&) noexcept = default;
    SubscriptionGroup& operator=(SubscriptionGroup&& other) noexcept {
        if (this != &other) {
            unsubscribe_all();
            subscriptions_ = std::move(other.subscriptions_);
        }
        return *this;
    }
    ~SubscriptionGroup() { unsubscribe_all(); }

    /// Adds a subscription to the group.
    SubscriptionGroup& add(Subscription subscription) {
        subscriptions_.push_back(std::move(subscription));
        return *this;
    }
    /// Same as `add`.
    SubscriptionGroup& operator+=(Subscription subscription) {
        return add(std::move(subscription));
    }

    /// Ends every subscription in the group (newest first) and empties it.
    void unsubscribe_all() noexcept {
        while (!subscriptions_.empty()) {
            subscriptions_.pop_back();
        }
    }

    /// Number of handles held (including ones that already became inactive).
    std::size_t size() const noexcept { return subscriptions_.size(); }
    bool empty() const noexcept { return subscriptions_.empty(); }

private:
    std::vector<Subscription> subscriptions_;
};

HERALD_NAMESPACE_END
