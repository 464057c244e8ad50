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
    /// An empty group.
    /// **Thread-safety:** any thread.
    SubscriptionGroup() = default;
    /// Takes over `other`'s subscriptions; `other` is left empty.
    /// **Thread-safety:** not while another thread uses `other`.
    /// **Lifetime:** the subscriptions now last as long as this group.
    SubscriptionGroup(SubscriptionGroup&&) noexcept = default;
    /// Ends this group's subscriptions (newest first), then takes over `other`'s.
    /// **Thread-safety:** not while another thread uses either group.
    /// **Lifetime:** waits, as `Subscription::unsubscribe` does, for each ended subscription's
    /// invocations running on other threads.
    SubscriptionGroup& operator=(SubscriptionGroup&& other) noexcept {
        if (this != &other) {
            unsubscribe_all();
            subscriptions_ = std::move(other.subscriptions_);
        }
        return *this;
    }
    /// Ends every subscription in the group, newest first.
    /// **Thread-safety:** any thread, including from inside a handler, not while another
    /// thread uses the group.
    /// **Lifetime:** waits, as `Subscription::unsubscribe` does, for each subscription's
    /// invocations running on other threads (at once for the handler it is called from).
    ~SubscriptionGroup() { unsubscribe_all(); }

    /// Adds `subscription` to the group and returns the group, for chaining.
    /// **Thread-safety:** not while another thread uses the group.
    /// **Lifetime:** the subscription lasts until the group ends it.
    SubscriptionGroup& add(Subscription subscription) {
        subscriptions_.push_back(std::move(subscription));
        return *this;
    }
    /// Adds `subscription` to the group and returns the group (`group += broker.subscribe(...)`).
    /// **Thread-safety:** not while another thread uses the group.
    /// **Lifetime:** the subscription lasts until the group ends it.
    SubscriptionGroup& operator+=(Subscription subscription) {
        return add(std::move(subscription));
    }

    /// Ends every subscription in the group (newest first) and empties it.
    /// **Thread-safety:** any thread, including from inside a handler, not while another
    /// thread uses the group.
    /// **Lifetime:** waits, as `Subscription::unsubscribe` does, for each subscription's
    /// invocations running on other threads (at once for the handler it is called from).
    void unsubscribe_all() noexcept {
        while (!subscriptions_.empty()) {
            subscriptions_.pop_back();
        }
    }

    /// Number of handles held (including ones that already became inactive).
    /// **Thread-safety:** not while another thread changes the group.
    std::size_t size() const noexcept { return subscriptions_.size(); }
    /// True when the group holds no handle.
    /// **Thread-safety:** not while another thread changes the group.
    bool empty() const noexcept { return subscriptions_.empty(); }

private:
    std::vector<Subscription> subscriptions_;
};

HERALD_NAMESPACE_END
