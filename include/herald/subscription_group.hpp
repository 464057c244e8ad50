#pragma once
/// \file
/// `herald::SubscriptionGroup`: many subscriptions owned together and ended together.

#include <herald/subscription.hpp>
#include <herald/version.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

HERALD_NAMESPACE_BEGIN

/// Owns many subscriptions and ends them together: the "unsubscribe_all(session)" of a
/// component, a connection or a session. Each subscription may be filed under a name (the
/// channel or topic it is for), so that one can also be ended alone: the
/// "unsubscribe_topic(session, topic)" beside "unsubscribe_all(session)".
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

    /// Adds `subscription` to the group under the empty name and returns the group, for
    /// chaining.
    /// **Thread-safety:** not while another thread uses the group.
    /// **Lifetime:** the subscription lasts until the group ends it.
    SubscriptionGroup& add(Subscription subscription) {
        return add(std::string(), std::move(subscription));
    }
    /// Adds `subscription` to the group under `name` (e.g. its channel; several may share a
    /// name) and returns the group, for chaining.
    /// **Thread-safety:** not while another thread uses the group.
    /// **Lifetime:** the subscription lasts until the group ends it; `name` is copied.
    SubscriptionGroup& add(std::string name, Subscription subscription) {
        subscriptions_.push_back(Entry{std::move(name), std::move(subscription)});
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

    /// Ends the subscriptions filed under `name` (newest first), removes them from the group
    /// and returns how many there were (0 if none: not an error).
    /// **Thread-safety:** any thread, including from inside a handler, not while another
    /// thread uses the group.
    /// **Lifetime:** waits, as `Subscription::unsubscribe` does, for each subscription's
    /// invocations running on other threads (at once for the handler it is called from). The
    /// group is already without them when the first one ends.
    std::size_t unsubscribe(std::string_view name) {
        std::vector<Subscription> ending;
        ending.reserve(count(name));
        std::size_t kept = 0;
        for (std::size_t i = 0; i < subscriptions_.size(); ++i) {
            if (subscriptions_[i].name == name) {
                ending.push_back(std::move(subscriptions_[i].subscription));
            } else {
                if (kept != i) {
                    subscriptions_[kept] = std::move(subscriptions_[i]);
                }
                ++kept;
            }
        }
        subscriptions_.erase(subscriptions_.begin() + static_cast<std::ptrdiff_t>(kept),
                             subscriptions_.end());
        const std::size_t ended = ending.size();
        while (!ending.empty()) {
            ending.pop_back();
        }
        return ended;
    }

    /// Number of handles held under `name` (including ones that already became inactive).
    /// **Thread-safety:** not while another thread changes the group.
    std::size_t count(std::string_view name) const noexcept {
        std::size_t n = 0;
        for (const Entry& entry : subscriptions_) {
            n += entry.name == name ? 1U : 0U;
        }
        return n;
    }

    /// True when at least one handle is held under `name`.
    /// **Thread-safety:** not while another thread changes the group.
    bool contains(std::string_view name) const noexcept { return count(name) != 0; }

    /// Number of handles held (including ones that already became inactive).
    /// **Thread-safety:** not while another thread changes the group.
    std::size_t size() const noexcept { return subscriptions_.size(); }
    /// True when the group holds no handle.
    /// **Thread-safety:** not while another thread changes the group.
    bool empty() const noexcept { return subscriptions_.empty(); }

private:
    struct Entry {
        std::string name;
        Subscription subscription;
    };
    std::vector<Entry> subscriptions_;
};

HERALD_NAMESPACE_END
