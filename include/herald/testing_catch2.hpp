#pragma once
/// \file
/// Catch2 matchers over what a `herald::testing::RecordingBroker` recorded:
/// `CHECK_THAT(pubsub.subscriptions(), herald::testing::HasSubscription("session_123",
/// "updates"))`. A failed check prints what was recorded.
///
/// Compiled and tested with Catch2 2.13.10 (Debian 12's `catch2` package, the single header
/// `<catch2/catch.hpp>`). Include Catch2 before this header, or let it include
/// `<catch2/catch.hpp>`. Catch2 v3 is not supported by this header: it stops with an error.

#include <herald/testing.hpp>
#include <herald/version.hpp>

#ifndef CATCH_VERSION_MAJOR
#include <catch2/catch.hpp>
#endif

#if CATCH_VERSION_MAJOR != 2
#error "herald/testing_catch2.hpp supports Catch2 v2 (checked with 2.13.10) only"
#endif

#include <cstddef>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

HERALD_NAMESPACE_BEGIN

namespace testing {

namespace detail {

// A quoted string for a matcher's description.
inline std::string quoted(std::string_view text) {
    std::string out = "\"";
    out += text;
    out += '"';
    return out;
}

// What was recorded, for a failed match: "owner/name" pairs, in order.
template <class Record>
std::string listing(const Records<Record>& records) {
    std::string out = " (recorded:";
    if (records.empty()) {
        out += " nothing";
    }
    for (const Record& r : records) {
        out += ' ';
        out += r.owner;
        out += '/';
        out += r.name;
    }
    out += ')';
    return out;
}

} // namespace detail

/// Matches `Records<SubscriptionRecord>` (`subscriptions()` or `subscribed()`) holding a
/// subscription of `owner` to the channel or pattern text `name`.
/// **Thread-safety:** a matcher object is used by one check at a time.
class HasSubscriptionMatcher : public Catch::MatcherBase<Records<SubscriptionRecord>> {
public:
    /// A matcher for `owner`'s subscription to `name`.
    /// **Lifetime:** both strings are copied.
    HasSubscriptionMatcher(std::string owner, std::string name)
        : owner_(std::move(owner)), name_(std::move(name)) {}
    /// True if `records` contains the subscription; remembers `records` for `describe`.
    bool match(const Records<SubscriptionRecord>& records) const override {
        seen_ = detail::listing(records);
        return records.contains(owner_, name_);
    }
    /// "has a subscription of "owner" to "name" (recorded: ...)".
    std::string describe() const override {
        return "has a subscription of " + detail::quoted(owner_) + " to " + detail::quoted(name_) +
               seen_;
    }

private:
    std::string owner_, name_;
    mutable std::string seen_;
};

/// Matches `Records<UnsubscribeRecord>` (`unsubscribed()`) holding the end of a subscription
/// of `owner` to `name`.
/// **Thread-safety:** a matcher object is used by one check at a time.
class HasUnsubscribeMatcher : public Catch::MatcherBase<Records<UnsubscribeRecord>> {
public:
    /// A matcher for the end of `owner`'s subscription to `name`.
    /// **Lifetime:** both strings are copied.
    HasUnsubscribeMatcher(std::string owner, std::string name)
        : owner_(std::move(owner)), name_(std::move(name)) {}
    /// True if `records` contains the unsubscribe; remembers `records` for `describe`.
    bool match(const Records<UnsubscribeRecord>& records) const override {
        seen_ = detail::listing(records);
        return records.contains(owner_, name_);
    }
    /// "has an unsubscribe of "owner" from "name" (recorded: ...)".
    std::string describe() const override {
        return "has an unsubscribe of " + detail::quoted(owner_) + " from " +
               detail::quoted(name_) + seen_;
    }

private:
    std::string owner_, name_;
    mutable std::string seen_;
};

/// Matches `Records<PublishRecord<Payload>>` (`published()`) holding a publish of a payload
/// equal to `payload` on `channel`.
/// **Thread-safety:** a matcher object is used by one check at a time.
template <class Payload>
class HasPublishMatcher : public Catch::MatcherBase<Records<PublishRecord<Payload>>> {
public:
    /// A matcher for `payload` published on `channel`.
    /// **Lifetime:** both are copied.
    HasPublishMatcher(std::string channel, Payload payload)
        : channel_(std::move(channel)), payload_(std::move(payload)) {}
    /// True if `records` contains the publish; remembers the channels for `describe`.
    bool match(const Records<PublishRecord<Payload>>& records) const override {
        seen_ = " (published on:";
        if (records.empty()) {
            seen_ += " nothing";
        }
        for (const PublishRecord<Payload>& r : records) {
            seen_ += ' ';
            seen_ += r.channel;
        }
        seen_ += ')';
        return records.contains(channel_, payload_);
    }
    /// "has a publish of <payload> on "channel" (published on: ...)".
    std::string describe() const override {
        return "has a publish of " + Catch::Detail::stringify(payload_) + " on " +
               detail::quoted(channel_) + seen_;
    }

private:
    std::string channel_;
    Payload payload_;
    mutable std::string seen_;
};

/// Matches `Records<PublishRecord<Payload>>` whose channels are exactly `channels`, in order.
/// **Thread-safety:** a matcher object is used by one check at a time.
template <class Payload>
class PublishedInOrderMatcher : public Catch::MatcherBase<Records<PublishRecord<Payload>>> {
public:
    /// A matcher for publishes on `channels`, in this order and no other.
    /// **Lifetime:** the names are copied.
    explicit PublishedInOrderMatcher(std::vector<std::string> channels)
        : channels_(std::move(channels)) {}
    /// True if the records' channels equal `channels`.
    bool match(const Records<PublishRecord<Payload>>& records) const override {
        std::vector<std::string> got;
        for (const PublishRecord<Payload>& r : records) {
            got.push_back(r.channel);
        }
        seen_ = " (published on: " + Catch::Detail::stringify(got) + ")";
        return got == channels_;
    }
    /// "was published on {...} in this order (published on: ...)".
    std::string describe() const override {
        return "was published on " + Catch::Detail::stringify(channels_) + " in this order" + seen_;
    }

private:
    std::vector<std::string> channels_;
    mutable std::string seen_;
};

/// `HasSubscriptionMatcher(owner, name)`: `CHECK_THAT(pubsub.subscriptions(),
/// HasSubscription("session_123", "updates"))`.
/// **Thread-safety:** any thread.
inline HasSubscriptionMatcher HasSubscription(std::string owner, std::string name) {
    return HasSubscriptionMatcher(std::move(owner), std::move(name));
}

/// `HasUnsubscribeMatcher(owner, name)`: `CHECK_THAT(pubsub.unsubscribed(),
/// HasUnsubscribe("session_123", "updates"))`.
/// **Thread-safety:** any thread.
inline HasUnsubscribeMatcher HasUnsubscribe(std::string owner, std::string name) {
    return HasUnsubscribeMatcher(std::move(owner), std::move(name));
}

/// `HasPublishMatcher<std::string>(channel, payload)` for string payloads (a literal, say).
/// **Thread-safety:** any thread.
inline HasPublishMatcher<std::string> HasPublish(std::string channel, std::string payload) {
    return HasPublishMatcher<std::string>(std::move(channel), std::move(payload));
}

/// `HasPublishMatcher<Payload>(channel, payload)` for any other payload type.
/// **Thread-safety:** any thread.
template <class Payload>
requires(!std::is_convertible_v<Payload, std::string_view>)
    HasPublishMatcher<Payload> HasPublish(std::string channel, Payload payload) {
    return HasPublishMatcher<Payload>(std::move(channel), std::move(payload));
}

/// `PublishedInOrderMatcher<Payload>(channels)`: `CHECK_THAT(pubsub.published(),
/// PublishedInOrder({"a", "b"}))` (for `std::string` payloads unless `Payload` is given).
/// **Thread-safety:** any thread.
template <class Payload = std::string>
PublishedInOrderMatcher<Payload> PublishedInOrder(std::vector<std::string> channels) {
    return PublishedInOrderMatcher<Payload>(std::move(channels));
}

} // namespace testing

HERALD_NAMESPACE_END
