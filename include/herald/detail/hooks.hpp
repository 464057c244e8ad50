#pragma once
// The extension points of a broker's data path. herald's optional parts that live outside the
// core (the Redis/Valkey bridge first) attach here instead of beside the path:
//
//   publish --> [before_publish] --> lookup --> match --> deliver --> [after_publish]
//   registry (writer side): a channel or pattern gains its first subscription or loses its
//   last --> [channel_interest / pattern_interest]
//
// A broker holds at most one hooks object. Nothing here runs when none is installed: the
// publish path then pays one relaxed load and a predicted branch.

#include <herald/detail/type_key.hpp>
#include <herald/pattern.hpp>
#include <herald/version.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

HERALD_NAMESPACE_BEGIN
namespace detail {

/// One publish as an extension sees it, on the publishing thread.
struct PublishEvent {
    std::string_view channel; ///< the channel published on
    const void* payload;      ///< the payload, a `T` where `*type == type_key<T>`
    const TypeKey* type;      ///< the payload's type
};

/// What happened to the local interest in a channel or pattern.
enum class Interest : std::uint8_t {
    appeared, ///< the first subscription arrived (or it existed when the hooks were installed)
    gone,     ///< the last subscription left
};

/// Which local receivers `BrokerImpl::publish_local` reaches: an extension that brings a
/// message in for one subscription kind (a Redis `message` for the exact subscribers, a
/// `pmessage` for one pattern's) must not deliver it to the others a second time.
enum class LocalTarget : std::uint8_t {
    all,     ///< exact subscribers and every matching pattern, as `publish`
    exact,   ///< the channel's exact subscribers only
    pattern, ///< the subscribers of one pattern only (matched by the caller already)
};

/// What an extension implements; every member has a default that does nothing.
///
/// Thread-safety: `before_publish` and `after_publish` run on publishing threads, concurrently
/// with each other (thread_safe brokers). The interest members run with the broker's writer
/// lock held, one at a time and in the order of the changes they report, so a reference count
/// kept from them is exact; they must not call into the broker and must not block.
/// Lifetime: installed with `BrokerImpl::install_hooks` and removed with `remove_hooks`, which
/// returns only once no publish still runs a member of the removed object.
class BrokerHooks {
public:
    BrokerHooks() = default;
    BrokerHooks(const BrokerHooks&) = delete;
    BrokerHooks& operator=(const BrokerHooks&) = delete;
    virtual ~BrokerHooks() = default;

    /// Before the lookup. Returns whether the broker delivers the message to its own
    /// subscribers; false means the extension takes the message over (and `publish` returns 0).
    virtual bool before_publish(const PublishEvent& event) {
        (void)event;
        return true;
    }

    /// After local delivery, with the number of local receivers.
    virtual void after_publish(const PublishEvent& event, std::size_t receivers) {
        (void)event;
        (void)receivers;
    }

    /// `channel` (bound to payload type `type`) gained its first exact subscription or lost
    /// its last.
    virtual void channel_interest(std::string_view channel, const TypeKey& type,
                                  Interest interest) {
        (void)channel;
        (void)type;
        (void)interest;
    }

    /// `pattern` gained its first subscription or lost its last (identical patterns share one
    /// entry, whatever their subscriptions' payload types).
    virtual void pattern_interest(const Pattern& pattern, Interest interest) {
        (void)pattern;
        (void)interest;
    }
};

} // namespace detail
HERALD_NAMESPACE_END
