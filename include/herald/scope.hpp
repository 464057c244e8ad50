#pragma once
/// \file
/// `herald::Scope`: a view of a broker in which every channel, pattern and introspection result
/// is relative to a prefix (`broker.scope("dev:")`). docs/scopes.md describes it in full.

#include <herald/detail/broker_impl.hpp>
#include <herald/errors.hpp>
#include <herald/fwd.hpp>
#include <herald/handler.hpp>
#include <herald/mailbox.hpp>
#include <herald/message.hpp>
#include <herald/pattern.hpp>
#include <herald/queue.hpp>
#include <herald/subscribe_options.hpp>
#include <herald/subscription.hpp>
#include <herald/version.hpp>

#include <cstddef>
#include <functional>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

HERALD_NAMESPACE_BEGIN

namespace detail {
struct BrokerAccess;
} // namespace detail

/// Thrown when a scope's prefix cannot be put in front of a NATS or MQTT pattern: a token
/// pattern's prefix must be whole literal tokens, so it must end with the pattern's separator
/// and contain no wildcard token (NATS `*`, `>`; MQTT `+`, `#`) and, for NATS, no empty token.
/// Glob patterns and channels take any prefix. The message names the prefix, the grammar and
/// the rule, e.g. `herald: the scope prefix "dev:" cannot prefix a NATS pattern (separator
/// '.'): it must end with the separator`.
/// **Thread-safety:** immutable once thrown; copies may be read on any thread.
class scope_error : public std::invalid_argument {
public:
    /// Builds the error for `prefix` and a pattern of grammar `kind` with `separator`, broken
    /// rule `rule` (copies of the prefix and the rule are kept).
    scope_error(std::string_view prefix, PatternKind kind, char separator, std::string_view rule)
        : std::invalid_argument(describe(prefix, kind, separator, rule)),
          prefix_(std::make_shared<const std::string>(prefix)), kind_(kind), separator_(separator) {
    }

    /// The prefix that could not be used, byte for byte.
    /// **Lifetime:** valid while this exception object (or a copy) lives.
    std::string_view prefix() const noexcept { return *prefix_; }
    /// The grammar of the pattern it was to prefix.
    PatternKind kind() const noexcept { return kind_; }
    /// That pattern's separator ('/' for MQTT).
    char separator() const noexcept { return separator_; }

private:
    static std::string describe(std::string_view prefix, PatternKind kind, char separator,
                                std::string_view rule) {
        std::string out = "herald: the scope prefix ";
        out += detail::quote_pattern(prefix);
        out += " cannot prefix a ";
        out += to_string(kind);
        out += " pattern (separator '";
        out += separator;
        out += "'): ";
        out += rule;
        return out;
    }

    std::shared_ptr<const std::string> prefix_;
    PatternKind kind_;
    char separator_;
};

namespace detail {

// The reason `prefix` cannot stand before a token pattern of `kind`, or empty if it can.
inline std::string_view token_prefix_problem(std::string_view prefix, PatternKind kind,
                                             char separator) noexcept {
    if (prefix.empty()) {
        return {};
    }
    if (prefix.back() != separator) {
        return "it must end with the separator";
    }
    const std::string_view tokens = prefix.substr(0, prefix.size() - 1);
    TokenCursor cursor(tokens, separator);
    while (!cursor.done()) {
        const std::string_view token = cursor.next();
        if (kind == PatternKind::nats) {
            if (token.empty()) {
                return "it has an empty token";
            }
            if (token == "*" || token == ">") {
                return "it has a wildcard token";
            }
        } else if (token.find_first_of(std::string_view("+#\0", 3)) != token.npos) {
            return "it has a wildcard or NUL character";
        }
    }
    return {};
}

// Calls `f` with `m` as seen through a scope: the channel without the prefix and the pattern
// as the subscriber wrote it (`pattern`).
template <class T, class F>
decltype(auto) with_relative(const Message<T>& m, std::string_view prefix, std::string_view pattern,
                             F& f) {
    std::string_view channel = m.channel;
    // Always true but for MQTT's '#', which also matches the parent level ("dev/#" receives
    // "dev"): such a channel has no relative name and is shown whole.
    if (channel.substr(0, prefix.size()) == prefix) {
        channel.remove_prefix(prefix.size());
    }
    const Message<T> relative(m.kind, m.kind == MessageKind::pmessage ? pattern : m.pattern,
                              channel, m.payload, m.sequence, m.published_at);
    return std::invoke(f, relative);
}

// An envelope handler seen through a scope: the message it receives names the channel without
// the prefix and the pattern as the subscriber wrote it.
template <class T, class H>
struct ScopedEnvelopeHandler {
    H handler;
    std::string prefix;
    std::string pattern; // relative; empty for an exact subscription

    void operator()(const Message<T>& m) { with_relative(m, prefix, pattern, handler); }
};

// A message filter (`herald::filter` taking `const Message<T>&`) seen through a scope, as an
// envelope handler is.
template <class T, class P>
struct ScopedMessagePredicate {
    P predicate;
    std::string prefix;
    std::string pattern; // relative; empty for an exact subscription

    bool operator()(const Message<T>& m) {
        return static_cast<bool>(with_relative(m, prefix, pattern, predicate));
    }
};

// The full channel name `prefix + channel`, built on the stack when short: a scoped publish
// then allocates no more than a plain one.
class ScopedName {
public:
    ScopedName(std::string_view prefix, std::string_view channel) {
        const std::size_t size = prefix.size() + channel.size();
        char* out = size <= sizeof(small_) ? small_ : (large_.resize(size), large_.data());
        prefix.copy(out, prefix.size());
        channel.copy(out + prefix.size(), channel.size());
        view_ = std::string_view(out, size);
    }
    ScopedName(const ScopedName&) = delete;
    ScopedName& operator=(const ScopedName&) = delete;
    std::string_view view() const noexcept { return view_; }

private:
    char small_[256];
    std::string large_;
    std::string_view view_;
};

} // namespace detail

/// A view of a broker under a prefix, made by `broker.scope("dev:")`: `subscribe`,
/// `psubscribe` and `publish` add the prefix to every channel and pattern; `channels`,
/// `numsub`, `numpat` and `patterns` see only what lies under it, without it; envelope
/// handlers receive the channel without the prefix and their pattern as written. Scopes nest:
/// `broker.scope("a:").scope("b:")` is `broker.scope("a:b:")`.
///
/// Channels take any prefix byte for byte. A glob is prefixed with `glob_escape(prefix)`, so
/// metacharacters in the prefix are literal. A NATS or MQTT pattern is prefixed as is, which
/// needs the prefix to be whole literal tokens ending with the pattern's separator (`"dev."`
/// for NATS, `"dev/"` for MQTT); otherwise `psubscribe` throws `scope_error`.
///
/// Typed topics are not prefixed and not offered here: a `Topic<T>` names one channel of the
/// whole broker; use the broker for it. Mailboxes made through a scope hold envelopes whose
/// channel is the full name (`relative` strips the prefix).
///
/// **Thread-safety:** a value holding a pointer to the broker and the prefix. Const member
/// functions may be called concurrently; each forwards to the broker, with the broker's
/// guarantees (any thread for a thread_safe broker, including from handlers).
/// **Lifetime:** a scope may outlive its broker safely: it shares the broker's state (as a
/// `Publisher` does), so after the broker is shut down or destroyed a scope behaves as a
/// shut-down broker (publishes return 0, subscribes throw `broker_closed_error`, introspection
/// finds nothing). Only `broker()` returns a plain reference, valid while the broker lives.
/// Copying costs one reference count and one string copy. Subscriptions and mailboxes made
/// through a scope are ordinary handles: they may outlive the scope, and the broker.
template <class Payload, class Policy>
class Scope {
public:
    /// The broker type this scope views.
    using broker_type = Broker<Payload, Policy>;
    /// The payload type of the broker's string channels.
    using payload_type = Payload;

    /// A view of `broker` under `prefix` (any bytes; empty views the whole broker).
    /// **Thread-safety:** any thread.
    /// **Lifetime:** the scope shares the broker's state and may outlive it (see the class);
    /// the prefix is copied.
    Scope(broker_type& broker, std::string_view prefix)
        : impl_(Access::shared(broker)), broker_(&broker), prefix_(prefix) {}

    /// The scope under `prefix() + more`.
    /// **Thread-safety:** any thread.
    /// **Lifetime:** shares the same broker state, with the same contract; valid after the
    /// broker is gone too.
    [[nodiscard]] Scope scope(std::string_view more) const {
        Scope nested = *this;
        nested.prefix_ += more;
        return nested;
    }

    /// The prefix, as given (nested scopes: the prefixes joined).
    /// **Lifetime:** valid while this scope lives and is not assigned to.
    const std::string& prefix() const noexcept { return prefix_; }
    /// The broker this scope views.
    /// **Lifetime:** a plain reference: valid while the broker lives (unlike the scope).
    broker_type& broker() const noexcept { return *broker_; }

    /// The full channel name of the scope's `channel`: `prefix() + channel`.
    /// **Thread-safety:** any thread.
    std::string channel(std::string_view channel) const {
        std::string full = prefix_;
        full += channel;
        return full;
    }
    /// `channel` without the prefix if it starts with it, else `channel` unchanged (for the
    /// envelopes of a mailbox made through this scope).
    /// **Thread-safety:** any thread.
    /// **Lifetime:** a view into `channel`.
    std::string_view relative(std::string_view channel) const noexcept {
        if (channel.substr(0, prefix_.size()) == prefix_) {
            channel.remove_prefix(prefix_.size());
        }
        return channel;
    }
    /// The broker-wide pattern of the scope's `pattern`: a glob after `glob_escape(prefix())`,
    /// a NATS or MQTT pattern after `prefix()` itself. Throws `scope_error` if the prefix cannot
    /// prefix a pattern of that grammar, `pattern_error` if the result is too long for MQTT.
    /// **Thread-safety:** any thread.
    Pattern pattern(const Pattern& pattern) const {
        switch (pattern.kind()) {
        case PatternKind::glob: {
            std::string full = glob_escape(prefix_);
            full += pattern.text();
            return Pattern(std::move(full));
        }
        case PatternKind::nats:
            return nats_pattern(token_prefixed(pattern), pattern.separator());
        case PatternKind::mqtt:
            return mqtt_pattern(token_prefixed(pattern));
        }
        return pattern;
    }

    // ---- subscribe -----------------------------------------------------------------------

    /// `broker().subscribe(prefix() + channel, handler)`; an envelope handler sees the channel
    /// without the prefix.
    /// **Thread-safety:** as `Broker::subscribe`.
    /// **Lifetime:** as `Broker::subscribe`: the subscription lasts as long as the handle.
    template <class H, SubscribeOption... C>
    requires Handler<H, Payload>
    [[nodiscard("dropping the handle unsubscribes at once")]] Subscription
    subscribe(std::string_view channel, H&& handler, C&&... conditions) const {
        const detail::ScopedName name(prefix_, channel);
        return impl_->template subscribe<Payload>(
            name.view(), wrap<Payload>(std::forward<H>(handler), {}),
            std::forward_as_tuple(
                scoped_condition<Payload>(std::forward<C>(conditions), std::string_view{})...));
    }

    /// `broker().subscribe(prefix() + channel, handler, options)`: a queued subscription.
    /// **Thread-safety:** as `Broker::subscribe`.
    /// **Lifetime:** as `Broker::subscribe` with `QueueOptions`.
    template <class H, SubscribeOption... C>
    requires Handler<H, Payload>
    [[nodiscard("dropping the handle unsubscribes at once")]] Subscription
    subscribe(std::string_view channel, H&& handler, QueueOptions options,
              C&&... conditions) const {
        const detail::ScopedName name(prefix_, channel);
        return impl_->template subscribe_queued<Payload>(
            name.view(), wrap<Payload>(std::forward<H>(handler), {}), std::move(options),
            std::forward_as_tuple(
                scoped_condition<Payload>(std::forward<C>(conditions), std::string_view{})...));
    }

    /// `broker().subscribe(prefix() + channel, options)`: a mailbox; its envelopes carry the
    /// full channel name (`relative` strips the prefix).
    /// **Thread-safety:** as `Broker::subscribe`.
    /// **Lifetime:** dropping the mailbox unsubscribes and discards what it holds (counted).
    template <SubscribeOption... C>
    [[nodiscard("dropping the mailbox unsubscribes at once")]] Mailbox<Payload>
    subscribe(std::string_view channel, QueueOptions options, C&&... conditions) const {
        const detail::ScopedName name(prefix_, channel);
        return impl_->template mailbox<Payload>(
            name.view(), std::move(options), std::forward_as_tuple(std::forward<C>(conditions)...));
    }

    /// `broker().psubscribe(pattern(p), handler)` for payload type `Payload`; an envelope
    /// handler sees the channel without the prefix and `p` as written. Throws `scope_error`
    /// for a token pattern the prefix cannot prefix.
    /// **Thread-safety:** as `Broker::psubscribe`.
    /// **Lifetime:** as `Broker::psubscribe`.
    template <class H, SubscribeOption... C>
    requires Handler<H, Payload>
    [[nodiscard("dropping the handle unsubscribes at once")]] Subscription
    psubscribe(const Pattern& p, H&& handler, C&&... conditions) const {
        return impl_->template psubscribe<Payload>(
            pattern(p), wrap<Payload>(std::forward<H>(handler), p.text()),
            std::forward_as_tuple(
                scoped_condition<Payload>(std::forward<C>(conditions), p.text())...));
    }

    /// `broker().psubscribe<T>(pattern(p), handler)`: channels under the prefix carrying `T`.
    /// Throws `scope_error` for a token pattern the prefix cannot prefix.
    /// **Thread-safety:** as `Broker::psubscribe`.
    /// **Lifetime:** as `Broker::psubscribe`.
    template <class T, class H, SubscribeOption... C>
    requires Handler<H, T>
    [[nodiscard("dropping the handle unsubscribes at once")]] Subscription
    psubscribe(const Pattern& p, H&& handler, C&&... conditions) const {
        return impl_->template psubscribe<T>(
            pattern(p), wrap<T>(std::forward<H>(handler), p.text()),
            std::forward_as_tuple(scoped_condition<T>(std::forward<C>(conditions), p.text())...));
    }

    /// `broker().psubscribe(pattern(p), handler, options)`: a queued pattern subscription.
    /// **Thread-safety:** as `Broker::psubscribe`.
    /// **Lifetime:** as `Broker::psubscribe` with `QueueOptions`.
    template <class H, SubscribeOption... C>
    requires Handler<H, Payload>
    [[nodiscard("dropping the handle unsubscribes at once")]] Subscription
    psubscribe(const Pattern& p, H&& handler, QueueOptions options, C&&... conditions) const {
        return impl_->template psubscribe_queued<Payload>(
            pattern(p), wrap<Payload>(std::forward<H>(handler), p.text()), std::move(options),
            std::forward_as_tuple(
                scoped_condition<Payload>(std::forward<C>(conditions), p.text())...));
    }

    /// `broker().psubscribe<T>(pattern(p), handler, options)`: a queued pattern subscription
    /// for payload type `T`.
    /// **Thread-safety:** as `Broker::psubscribe`.
    /// **Lifetime:** as `Broker::psubscribe` with `QueueOptions`.
    template <class T, class H, SubscribeOption... C>
    requires Handler<H, T>
    [[nodiscard("dropping the handle unsubscribes at once")]] Subscription
    psubscribe(const Pattern& p, H&& handler, QueueOptions options, C&&... conditions) const {
        return impl_->template psubscribe_queued<T>(
            pattern(p), wrap<T>(std::forward<H>(handler), p.text()), std::move(options),
            std::forward_as_tuple(scoped_condition<T>(std::forward<C>(conditions), p.text())...));
    }

    /// `broker().psubscribe(pattern(p), options)`: a pattern mailbox for `Payload`; its
    /// envelopes carry the full channel and pattern.
    /// **Thread-safety:** as `Broker::psubscribe`.
    /// **Lifetime:** dropping the mailbox unsubscribes and discards what it holds (counted).
    template <SubscribeOption... C>
    [[nodiscard("dropping the mailbox unsubscribes at once")]] Mailbox<Payload>
    psubscribe(const Pattern& p, QueueOptions options, C&&... conditions) const {
        return impl_->template pmailbox<Payload>(
            pattern(p), std::move(options), std::forward_as_tuple(std::forward<C>(conditions)...));
    }

    /// `broker().psubscribe<T>(pattern(p), options)`: a pattern mailbox for payload type `T`.
    /// **Thread-safety:** as `Broker::psubscribe`.
    /// **Lifetime:** dropping the mailbox unsubscribes and discards what it holds (counted).
    template <class T, SubscribeOption... C>
    [[nodiscard("dropping the mailbox unsubscribes at once")]] Mailbox<T>
    psubscribe(const Pattern& p, QueueOptions options, C&&... conditions) const {
        return impl_->template pmailbox<T>(pattern(p), std::move(options),
                                           std::forward_as_tuple(std::forward<C>(conditions)...));
    }

    // ---- publish -------------------------------------------------------------------------

    /// `broker().publish(prefix() + channel, payload)`; returns the number of receivers.
    /// Builds the full name on the stack when it is at most 256 bytes (no allocation).
    /// **Thread-safety:** as `Broker::publish`.
    /// **Lifetime:** `payload` need only live for the call.
    std::size_t publish(std::string_view channel, const Payload& payload) const {
        static_assert(std::is_copy_constructible_v<Payload>,
                      "herald: this payload type cannot be copied: publish it as an rvalue "
                      "(std::move), which queued subscribers then share");
        const detail::ScopedName name(prefix_, channel);
        return impl_->template publish<Payload>(name.view(), payload, nullptr);
    }

    /// `broker().publish(prefix() + channel, std::move(payload))`.
    /// **Thread-safety:** as `Broker::publish`.
    /// **Lifetime:** `payload` may be moved from (only if a queued subscription received it).
    std::size_t publish(std::string_view channel, Payload&& payload) const {
        const detail::ScopedName name(prefix_, channel);
        return impl_->template publish<Payload>(name.view(), payload, &payload);
    }

    /// Publishes a value convertible to `Payload` (e.g. a string literal) on
    /// `prefix() + channel`.
    /// **Thread-safety:** as `Broker::publish`.
    /// **Lifetime:** `value` need only live for the call.
    template <class U>
    requires(!std::same_as<std::remove_cvref_t<U>, Payload> &&
             std::constructible_from<Payload, U>) std::size_t
        publish(std::string_view channel, U&& value)
    const {
        const detail::ScopedName name(prefix_, channel);
        Payload payload(std::forward<U>(value));
        return impl_->template publish<Payload>(name.view(), payload, &payload);
    }

    // ---- introspection -------------------------------------------------------------------

    /// The channels under the prefix with at least one exact subscriber, without the prefix,
    /// sorted (the channel equal to the prefix appears as "").
    /// **Thread-safety:** as `Broker::channels`; O(channels of the whole broker).
    /// **Lifetime:** the names are copies.
    std::vector<std::string> channels() const { return relative_channels(nullptr); }

    /// The channels under the prefix whose relative name matches the Redis glob `glob`,
    /// without the prefix, sorted.
    /// **Thread-safety:** as `Broker::channels`.
    /// **Lifetime:** `glob` need only live for the call; the names are copies.
    std::vector<std::string> channels(std::string_view glob) const {
        return relative_channels(&glob);
    }

    /// Number of exact subscribers of the scope's `channel`.
    /// **Thread-safety:** as `Broker::numsub`.
    std::size_t numsub(std::string_view channel) const {
        const detail::ScopedName name(prefix_, channel);
        return impl_->numsub(name.view());
    }

    /// Number of exact subscribers of each of the scope's channels, in the order given, named
    /// without the prefix.
    /// **Thread-safety:** as `Broker::numsub`.
    std::vector<std::pair<std::string, std::size_t>>
    numsub(std::initializer_list<std::string_view> channels) const {
        std::vector<std::pair<std::string, std::size_t>> counts;
        counts.reserve(channels.size());
        for (std::string_view c : channels) {
            counts.emplace_back(std::string(c), numsub(c));
        }
        return counts;
    }

    /// The distinct patterns under the prefix with at least one subscriber, without the
    /// prefix: broker patterns written as this scope writes them (a glob starting with
    /// `glob_escape(prefix())`, a token pattern starting with `prefix()` when the prefix suits
    /// its grammar). Sorted as `Broker::patterns`.
    /// **Thread-safety:** as `Broker::patterns`; O(patterns of the whole broker).
    /// **Lifetime:** the patterns are copies.
    std::vector<Pattern> patterns() const {
        std::vector<Pattern> out;
        const std::string escaped = glob_escape(prefix_);
        for (const Pattern& p : impl_->patterns()) {
            const std::string& text = p.text();
            switch (p.kind()) {
            case PatternKind::glob:
                if (text.compare(0, escaped.size(), escaped) == 0) {
                    out.emplace_back(text.substr(escaped.size()));
                }
                break;
            case PatternKind::nats:
            case PatternKind::mqtt:
                if (text.size() > prefix_.size() && text.compare(0, prefix_.size(), prefix_) == 0 &&
                    detail::token_prefix_problem(prefix_, p.kind(), p.separator()).empty()) {
                    const std::string_view rest = std::string_view(text).substr(prefix_.size());
                    out.push_back(p.kind() == PatternKind::nats ? nats_pattern(rest, p.separator())
                                                                : mqtt_pattern(rest));
                }
                break;
            }
        }
        return out;
    }

    /// Number of distinct patterns under the prefix with at least one subscriber (those
    /// `patterns` lists).
    /// **Thread-safety:** as `Broker::patterns`.
    std::size_t numpat() const { return patterns().size(); }

private:
    std::string token_prefixed(const Pattern& p) const {
        const std::string_view problem =
            detail::token_prefix_problem(prefix_, p.kind(), p.separator());
        if (!problem.empty()) {
            throw scope_error(prefix_, p.kind(), p.separator(), problem);
        }
        std::string full = prefix_;
        full += p.text();
        return full;
    }

    // A message filter is wrapped to see relative names, as an envelope handler is; payload
    // filters and dedup pass on untouched.
    template <class T, class O>
    decltype(auto) scoped_condition(O&& option, std::string_view relative_pattern) const {
        using Option = std::remove_cvref_t<O>;
        if constexpr (detail::is_filter<Option>::value) {
            using P = decltype(Option::predicate);
            if constexpr (!detail::PayloadPredicate<T, P> && detail::MessagePredicate<T, P>) {
                return Filter<detail::ScopedMessagePredicate<T, P>>{
                    {std::forward<O>(option).predicate, prefix_, std::string(relative_pattern)}};
            } else {
                return std::forward<O>(option);
            }
        } else {
            return std::forward<O>(option);
        }
    }

    // Envelope handlers are wrapped to see relative names; payload handlers (the broker
    // prefers them when a handler takes both) are passed on untouched, at no cost.
    template <class T, class H>
    auto wrap(H&& handler, std::string_view relative_pattern) const {
        if constexpr (PayloadHandler<H, T>) {
            return std::forward<H>(handler);
        } else {
            return detail::ScopedEnvelopeHandler<T, std::decay_t<H>>{
                std::forward<H>(handler), prefix_, std::string(relative_pattern)};
        }
    }

    std::vector<std::string> relative_channels(const std::string_view* glob) const {
        std::vector<std::string> out;
        for (std::string& name : impl_->channels(nullptr)) {
            if (name.compare(0, prefix_.size(), prefix_) != 0) {
                continue;
            }
            name.erase(0, prefix_.size());
            if (glob == nullptr || glob_match(*glob, name)) {
                out.push_back(std::move(name));
            }
        }
        return out;
    }

    // Dependent, so that BrokerAccess (defined after this header, in broker.hpp) is looked up
    // where the scope is instantiated.
    using Access = std::conditional_t<sizeof(Payload) != 0, detail::BrokerAccess, void>;

    std::shared_ptr<detail::BrokerImpl<Policy>> impl_; // the broker's state: keeps calls safe
    broker_type* broker_;                              // for broker() only
    std::string prefix_;
};

HERALD_NAMESPACE_END
