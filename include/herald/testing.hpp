#pragma once
/// \file
/// `herald::testing::RecordingBroker`: a broker for tests that records every subscribe,
/// unsubscribe and publish made through it, with assertions that read like the test:
/// `CHECK(pubsub.subscriptions().contains("session_123", "updates"))`. docs/testing.md shows
/// it driving queued delivery step by step with `ManualExecutor`.

#include <herald/broker.hpp>
#include <herald/options.hpp>
#include <herald/pattern.hpp>
#include <herald/queue.hpp>
#include <herald/stats.hpp>
#include <herald/subscription.hpp>
#include <herald/version.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

HERALD_NAMESPACE_BEGIN

namespace testing {

/// How a recorded subscription selects its messages.
enum class SubscriptionKind : std::uint8_t {
    channel, ///< one exact channel (`subscribe`)
    pattern, ///< a pattern (`psubscribe`); the record's `grammar` says which
};

/// The enumerator's name, `"channel"` or `"pattern"` (`"unknown"` outside the enumeration).
/// **Thread-safety:** any thread; a pure function.
constexpr std::string_view to_string(SubscriptionKind kind) noexcept {
    switch (kind) {
    case SubscriptionKind::channel:
        return "channel";
    case SubscriptionKind::pattern:
        return "pattern";
    }
    return "unknown";
}

/// One subscription made through a `RecordingBroker`.
/// **Thread-safety:** a value.
/// **Lifetime:** owns its strings.
struct SubscriptionRecord {
    std::string owner; ///< the owner it was made for (a session, a component)
    std::string name;  ///< the channel, or the pattern's text
    SubscriptionKind kind = SubscriptionKind::channel; ///< channel or pattern
    PatternKind grammar = PatternKind::glob; ///< the pattern's grammar (glob for channels)
    bool queued = false;                     ///< made with `QueueOptions`
    std::uint64_t id = 0;                    ///< `Subscription::id()`
    std::uint64_t sequence = 0;              ///< position among all records of the recorder, from 1

    /// True for the subscription of `owner_name` to `channel_or_pattern`.
    /// **Thread-safety:** any thread.
    bool matches(std::string_view owner_name, std::string_view channel_or_pattern) const noexcept {
        return owner == owner_name && name == channel_or_pattern;
    }
};

/// One subscription ended through a `RecordingBroker` (`unsubscribe`, `unsubscribe_all`).
/// **Thread-safety:** a value.
/// **Lifetime:** owns its strings.
struct UnsubscribeRecord {
    std::string owner;                                 ///< the owner it was made for
    std::string name;                                  ///< the channel, or the pattern's text
    SubscriptionKind kind = SubscriptionKind::channel; ///< channel or pattern
    std::uint64_t id = 0;                              ///< `Subscription::id()`
    SubscriptionStats final_stats{};                   ///< its counters when it ended
    std::uint64_t sequence = 0; ///< position among all records of the recorder, from 1

    /// True for the subscription of `owner_name` to `channel_or_pattern`.
    /// **Thread-safety:** any thread.
    bool matches(std::string_view owner_name, std::string_view channel_or_pattern) const noexcept {
        return owner == owner_name && name == channel_or_pattern;
    }
};

/// One publish made through a `RecordingBroker`: the channel, a copy of the payload and what
/// `Broker::publish` returned.
/// **Thread-safety:** a value.
/// **Lifetime:** owns its channel name and payload copy.
template <class Payload>
struct PublishRecord {
    std::string channel;        ///< the channel published on
    Payload payload;            ///< a copy of the payload, taken before delivery
    std::size_t receivers = 0;  ///< the receiver count `publish` returned
    std::uint64_t sequence = 0; ///< position among all records of the recorder, from 1

    /// True for a publish on `channel_name`.
    /// **Thread-safety:** any thread.
    bool matches(std::string_view channel_name) const noexcept { return channel == channel_name; }
    /// True for a publish of a payload equal to `value` on `channel_name`.
    /// **Thread-safety:** any thread.
    template <class U>
    requires std::equality_comparable_with<const Payload&, const U&>
    bool matches(std::string_view channel_name, const U& value) const {
        return channel == channel_name && payload == value;
    }
};

/// Records of one kind, in the order they were made, with `contains` and `count` taking what
/// the record's `matches` takes: `(owner, name)` for subscriptions, `(channel)` or
/// `(channel, payload)` for publishes.
/// **Thread-safety:** a value (a copy of the recorder's log).
/// **Lifetime:** owns its records.
template <class Record>
class Records {
public:
    /// The records `records`, in order.
    /// **Thread-safety:** any thread.
    explicit Records(std::vector<Record> records) : records_(std::move(records)) {}

    /// True if a record matches `key...`.
    /// **Thread-safety:** any thread.
    template <class... Key>
    bool contains(const Key&... key) const {
        return count(key...) != 0;
    }
    /// Number of records matching `key...`.
    /// **Thread-safety:** any thread.
    template <class... Key>
    std::size_t count(const Key&... key) const {
        std::size_t n = 0;
        for (const Record& r : records_) {
            n += r.matches(key...) ? 1U : 0U;
        }
        return n;
    }
    /// Number of records.
    std::size_t size() const noexcept { return records_.size(); }
    /// True when there is no record.
    bool empty() const noexcept { return records_.empty(); }
    /// The `i`th record (from 0); throws `std::out_of_range` past the end.
    /// **Lifetime:** valid while this object lives.
    const Record& at(std::size_t i) const { return records_.at(i); }
    /// The first record.
    /// **Lifetime:** valid while this object lives.
    auto begin() const noexcept { return records_.begin(); }
    /// Past the last record.
    auto end() const noexcept { return records_.end(); }

private:
    std::vector<Record> records_;
};

/// A broker for tests that records what is done through it: every subscription (owner,
/// channel or pattern, kind, queued or not), every unsubscribe and every publish (channel,
/// a copy of the payload, the receiver count). Subscriptions belong to a named owner (a
/// session, a component) and are held by the recorder, so a test ends them as the code under
/// test does: `unsubscribe(owner, name)` or `unsubscribe_all(owner)`. Pass
/// `herald::queued{.executor = manual.executor()}` with a `ManualExecutor` to drive queued
/// delivery one task at a time.
///
/// Only what goes through the recorder is recorded; `broker()` reaches the broker itself
/// (typed topics, scopes, mailboxes), unrecorded.
///
/// **Thread-safety:** the recorder is used from one thread at a time: the test's, including
/// from inline handlers and `ManualExecutor` tasks that the test runs. Handlers running on
/// the broker's workers must not call it. The broker behind it keeps its own guarantees.
/// **Lifetime:** owns its broker; destroying the recorder ends every subscription (without
/// recording it) and shuts the broker down.
template <class Payload = std::string, class Policy = thread_safe>
class RecordingBroker {
    static_assert(std::is_copy_constructible_v<Payload>,
                  "herald::testing::RecordingBroker keeps a copy of every payload published: "
                  "the payload type must be copyable");

public:
    /// The broker type behind the recorder.
    using broker_type = Broker<Payload, Policy>;
    /// A record of one publish.
    using publish_record = PublishRecord<Payload>;

    /// A recorder over a broker with default options.
    /// **Thread-safety:** any thread.
    RecordingBroker() = default;
    /// A recorder over a broker built with `options`.
    /// **Thread-safety:** any thread.
    explicit RecordingBroker(BrokerOptions options) : broker_(std::move(options)) {}
    /// Not copyable: subscriptions refer to its broker.
    RecordingBroker(const RecordingBroker&) = delete;
    /// Not copy-assignable: subscriptions refer to its broker.
    RecordingBroker& operator=(const RecordingBroker&) = delete;
    /// Ends the subscriptions it holds (newest first, not recorded), then the broker.
    /// **Thread-safety:** not from inside one of its handlers.
    ~RecordingBroker() {
        while (!live_.empty()) {
            live_.pop_back();
        }
    }

    /// The broker itself; what is done on it directly is not recorded.
    /// **Lifetime:** the recorder's.
    broker_type& broker() noexcept { return broker_; }

    // ---- subscribe -----------------------------------------------------------------------

    /// Subscribes `handler` to `channel` for `owner` and records it; returns the
    /// subscription's id. Throws what `Broker::subscribe` throws (nothing is recorded then).
    /// **Thread-safety:** see the class.
    /// **Lifetime:** the subscription lasts until `unsubscribe(owner, channel)`,
    /// `unsubscribe_all(owner)` or the recorder's end.
    template <class H>
    requires Handler<H, Payload> std::uint64_t subscribe(std::string_view owner,
                                                         std::string_view channel, H&& handler) {
        return hold(owner, channel, SubscriptionKind::channel, PatternKind::glob, false,
                    broker_.subscribe(channel, std::forward<H>(handler)));
    }
    /// As `subscribe(owner, channel, handler)`, queued with `options`.
    /// **Thread-safety:** see the class.
    /// **Lifetime:** the subscription lasts until `unsubscribe(owner, channel)`,
    /// `unsubscribe_all(owner)` or the recorder's end; a user executor in `options` must
    /// outlive it.
    template <class H>
    requires Handler<H, Payload> std::uint64_t
    subscribe(std::string_view owner, std::string_view channel, H&& handler, QueueOptions options) {
        return hold(owner, channel, SubscriptionKind::channel, PatternKind::glob, true,
                    broker_.subscribe(channel, std::forward<H>(handler), std::move(options)));
    }
    /// Subscribes `handler` to `pattern` (any grammar) for `owner` and records it under the
    /// pattern's text; returns the subscription's id.
    /// **Thread-safety:** see the class.
    /// **Lifetime:** the subscription lasts until `unsubscribe(owner, pattern.text())`,
    /// `unsubscribe_all(owner)` or the recorder's end.
    template <class H>
    requires Handler<H, Payload> std::uint64_t psubscribe(std::string_view owner,
                                                          const Pattern& pattern, H&& handler) {
        return hold(owner, pattern.text(), SubscriptionKind::pattern, pattern.kind(), false,
                    broker_.psubscribe(pattern, std::forward<H>(handler)));
    }
    /// As `psubscribe(owner, pattern, handler)`, queued with `options`.
    /// **Thread-safety:** see the class.
    /// **Lifetime:** the subscription lasts until `unsubscribe(owner, pattern.text())`,
    /// `unsubscribe_all(owner)` or the recorder's end; a user executor in `options` must
    /// outlive it.
    template <class H>
    requires Handler<H, Payload> std::uint64_t
    psubscribe(std::string_view owner, const Pattern& pattern, H&& handler, QueueOptions options) {
        return hold(owner, pattern.text(), SubscriptionKind::pattern, pattern.kind(), true,
                    broker_.psubscribe(pattern, std::forward<H>(handler), std::move(options)));
    }

    // ---- unsubscribe ---------------------------------------------------------------------

    /// Ends `owner`'s subscriptions to the channel or pattern text `name` (newest first),
    /// records each and returns how many there were (0: none, nothing recorded).
    /// **Thread-safety:** see the class; may be called from inside one of the handlers.
    /// **Lifetime:** as `Subscription::unsubscribe`: what is still queued is discarded.
    std::size_t unsubscribe(std::string_view owner, std::string_view name) {
        return end_where([&](const Live& l) { return l.record.matches(owner, name); });
    }

    /// Ends every subscription of `owner` (newest first), records each and returns how many.
    /// **Thread-safety:** see the class; may be called from inside one of the handlers.
    /// **Lifetime:** as `Subscription::unsubscribe`.
    std::size_t unsubscribe_all(std::string_view owner) {
        return end_where([&](const Live& l) { return l.record.owner == owner; });
    }

    // ---- publish -------------------------------------------------------------------------

    /// Publishes `payload` on `channel` and records the channel, a copy of the payload and
    /// the receiver count; returns the count.
    /// **Thread-safety:** see the class; may be called from inside a handler (a nested publish
    /// is recorded after the one whose handler made it, by `sequence`).
    /// **Lifetime:** `payload` need only live for the call.
    std::size_t publish(std::string_view channel, const Payload& payload) {
        const std::size_t at = record_publish(channel, payload);
        const std::size_t receivers = broker_.publish(channel, payload);
        published_[at].receivers = receivers;
        return receivers;
    }

    /// Publishes a value convertible to `Payload` (a string literal, say) on `channel` and
    /// records the channel, a copy of the payload and the receiver count.
    /// **Thread-safety:** see the class.
    /// **Lifetime:** `value` need only live for the call.
    template <class U>
    requires(!std::same_as<std::remove_cvref_t<U>, Payload> &&
             std::constructible_from<Payload, U>) std::size_t
        publish(std::string_view channel, U&& value) {
        const Payload payload(std::forward<U>(value));
        return publish(channel, payload);
    }

    // ---- what was recorded ---------------------------------------------------------------

    /// The subscriptions held now (made and not yet ended), oldest first.
    /// **Thread-safety:** see the class.
    /// **Lifetime:** a copy.
    Records<SubscriptionRecord> subscriptions() const {
        std::vector<SubscriptionRecord> out;
        out.reserve(live_.size());
        for (const Live& l : live_) {
            out.push_back(l.record);
        }
        return Records<SubscriptionRecord>(std::move(out));
    }
    /// Every subscription made through the recorder, ended or not, in order.
    /// **Thread-safety:** see the class.
    /// **Lifetime:** a copy.
    Records<SubscriptionRecord> subscribed() const { return Records(subscribed_); }
    /// Every subscription ended through the recorder, in order.
    /// **Thread-safety:** see the class.
    /// **Lifetime:** a copy.
    Records<UnsubscribeRecord> unsubscribed() const { return Records(unsubscribed_); }
    /// Every publish made through the recorder, in order.
    /// **Thread-safety:** see the class.
    /// **Lifetime:** a copy.
    Records<publish_record> published() const { return Records(published_); }

    /// The counters of `owner`'s oldest live subscription to `name`. Throws
    /// `std::out_of_range` naming both if there is none.
    /// **Thread-safety:** see the class.
    SubscriptionStats stats(std::string_view owner, std::string_view name) const {
        for (const Live& l : live_) {
            if (l.record.matches(owner, name)) {
                return l.handle.stats();
            }
        }
        throw std::out_of_range("herald::testing: owner \"" + std::string(owner) +
                                "\" holds no subscription to \"" + std::string(name) + "\"");
    }

    /// Forgets what was recorded (the subscriptions held stay, and stay listed by
    /// `subscriptions()`); sequence numbers go on.
    /// **Thread-safety:** see the class.
    void clear() noexcept {
        subscribed_.clear();
        unsubscribed_.clear();
        published_.clear();
    }

private:
    struct Live {
        SubscriptionRecord record;
        Subscription handle;
    };

    std::uint64_t hold(std::string_view owner, std::string_view name, SubscriptionKind kind,
                       PatternKind grammar, bool queued, Subscription handle) {
        SubscriptionRecord record{std::string(owner), std::string(name), kind, grammar, queued,
                                  handle.id(),        ++sequence_};
        subscribed_.push_back(record);
        live_.push_back(Live{std::move(record), std::move(handle)});
        return live_.back().record.id;
    }

    template <class Predicate>
    std::size_t end_where(Predicate&& ending) {
        // Taken out of the list first, so that the recorder is consistent while they end (a
        // handler may call back into it).
        std::vector<Live> ended;
        std::size_t kept = 0;
        for (std::size_t i = 0; i < live_.size(); ++i) {
            if (ending(live_[i])) {
                ended.push_back(std::move(live_[i]));
            } else {
                if (kept != i) {
                    live_[kept] = std::move(live_[i]);
                }
                ++kept;
            }
        }
        live_.erase(live_.begin() + static_cast<std::ptrdiff_t>(kept), live_.end());
        for (auto it = ended.rbegin(); it != ended.rend(); ++it) {
            const SubscriptionStats final_stats = it->handle.unsubscribe();
            unsubscribed_.push_back(UnsubscribeRecord{it->record.owner, it->record.name,
                                                      it->record.kind, it->record.id, final_stats,
                                                      ++sequence_});
        }
        return ended.size();
    }

    std::size_t record_publish(std::string_view channel, const Payload& payload) {
        published_.push_back(publish_record{std::string(channel), payload, 0, ++sequence_});
        return published_.size() - 1;
    }

    broker_type broker_;
    std::vector<Live> live_;
    std::vector<SubscriptionRecord> subscribed_;
    std::vector<UnsubscribeRecord> unsubscribed_;
    std::vector<publish_record> published_;
    std::uint64_t sequence_ = 0;
};

} // namespace testing

HERALD_NAMESPACE_END
