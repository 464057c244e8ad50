#pragma once
/// \file
/// `fmt::formatter` specializations for herald's public types, for logging with fmt 9 or newer:
/// `Message<T>` (when `T` is formattable), the enumerations (`MessageKind`, `Overflow`,
/// `ErrorKind`, `ExceptionPolicy`, `ShutdownMode`, `PatternKind`), `SubscriptionStats` and
/// `BrokerStats`. Optional: link the CMake target `herald::fmt` (package component `fmt`), which
/// brings fmt; the rest of herald does not need fmt.
///
/// ```cpp
/// fmt::print("{}\n", message);           // pmessage "alerts:*" "alerts:cpu_load" #3: 85%
/// fmt::print("{:>6}\n", message);        // the spec applies to the payload: ...#3:    85%
/// fmt::print("{}\n", subscription.stats()); // delivered=3 errors=0 dropped=0 ...
/// ```
///
/// Channel names and patterns are binary safe, so they are printed quoted and escaped
/// (fmt's `{:?}`): a log line stays one line whatever bytes a channel holds.
///
/// **Thread-safety:** formatting reads only its argument.
/// **Lifetime:** a `Message` is a view; format it inside the handler that received it.

#include <herald/errors.hpp>
#include <herald/message.hpp>
#include <herald/options.hpp>
#include <herald/pattern.hpp>
#include <herald/queue.hpp>
#include <herald/stats.hpp>
#include <herald/version.hpp>

#include <fmt/format.h>

#include <string_view>

HERALD_NAMESPACE_BEGIN
namespace detail {

/// Base of the formatters of aggregates, which take no format spec: `{}` only.
struct NoSpecFormatter {
    template <class ParseContext>
    constexpr auto parse(ParseContext& ctx) -> decltype(ctx.begin()) {
        auto it = ctx.begin();
        if (it != ctx.end() && *it != '}') {
            throw fmt::format_error("herald: statistics are formatted with {} only");
        }
        return it;
    }
};

/// Formats one of herald's public enumerations by its enumerator's name (`to_string`), under
/// string specs (`{:>12}`).
/// **Thread-safety:** one formatter object per format call (fmt makes it); any thread.
template <class Enum>
struct EnumFormatter : fmt::formatter<fmt::string_view> {
    /// Writes the name of `value` under the string spec parsed before.
    /// **Thread-safety:** any thread; reads only its argument.
    template <class FormatContext>
    auto format(Enum value, FormatContext& ctx) const -> decltype(ctx.out()) {
        const std::string_view name = herald::to_string(value);
        return fmt::formatter<fmt::string_view>::format(fmt::string_view(name.data(), name.size()),
                                                        ctx);
    }
};

} // namespace detail
HERALD_NAMESPACE_END

/// `message` or `pmessage`; string specs apply (`{:>8}`).
template <>
struct fmt::formatter<herald::MessageKind> : herald::detail::EnumFormatter<herald::MessageKind> {};
/// The overflow policy's name (`drop_oldest`, ...); string specs apply.
template <>
struct fmt::formatter<herald::Overflow> : herald::detail::EnumFormatter<herald::Overflow> {};
/// Why the error hook was called (`handler_exception`, `queue_disconnect`); string specs apply.
template <>
struct fmt::formatter<herald::ErrorKind> : herald::detail::EnumFormatter<herald::ErrorKind> {};
/// The exception policy's name (`isolate`, ...); string specs apply.
template <>
struct fmt::formatter<herald::ExceptionPolicy>
    : herald::detail::EnumFormatter<herald::ExceptionPolicy> {};
/// The shutdown mode's name (`drain`, `discard`); string specs apply.
template <>
struct fmt::formatter<herald::ShutdownMode> : herald::detail::EnumFormatter<herald::ShutdownMode> {
};
/// The pattern grammar's name (`glob`, `NATS`, `MQTT`); string specs apply.
template <>
struct fmt::formatter<herald::PatternKind> : herald::detail::EnumFormatter<herald::PatternKind> {};

/// Redis-style, one line: `message "<channel>" #<sequence>: <payload>` or
/// `pmessage "<pattern>" "<channel>" #<sequence>: <payload>`. The format spec is the payload's:
/// `{:.2f}` on a `Message<double>` formats the payload with two decimals. The publish time is
/// left out (log lines carry their own); format `m.published_at` with fmt/chrono.h if needed.
/// **Thread-safety:** one formatter object per format call (fmt makes it); any thread.
/// **Lifetime:** a `Message` is a view: format it inside the handler that received it.
template <class T>
requires fmt::is_formattable<T, char>::value struct fmt::formatter<herald::Message<T>, char> {
    /// Parses the format spec as the payload's formatter does (`{:.2f}`, `{:>6}`).
    /// **Thread-safety:** any thread.
    template <class ParseContext>
    constexpr auto parse(ParseContext& ctx) -> decltype(ctx.begin()) {
        return payload_.parse(ctx);
    }

    /// Writes the message's kind, pattern, channel and sequence, then its payload under the
    /// parsed spec.
    /// **Thread-safety:** any thread; reads only `m` (the payload, shared with other
    /// receivers, is read, never written).
    /// **Lifetime:** `m` must still be valid: call it inside the handler.
    template <class FormatContext>
    auto format(const herald::Message<T>& m, FormatContext& ctx) const -> decltype(ctx.out()) {
        auto out = ctx.out();
        if (m.kind == herald::MessageKind::pmessage) {
            out = fmt::format_to(out, "pmessage {:?} {:?} #{}: ", m.pattern, m.channel, m.sequence);
        } else {
            out = fmt::format_to(out, "message {:?} #{}: ", m.channel, m.sequence);
        }
        ctx.advance_to(out);
        if constexpr (requires { payload_.format(m.payload, ctx); }) {
            return payload_.format(m.payload, ctx);
        } else {
            // fmt before 11 let a user formatter's format() be non-const; this one is const (as
            // fmt 11 requires). The formatter object fmt made is never itself const, so casting
            // the qualifier away is well defined.
            return const_cast<fmt::formatter<T, char>&>(payload_).format(m.payload, ctx);
        }
    }

private:
    fmt::formatter<T, char> payload_;
};

/// `delivered=3 errors=0 dropped=0 skipped=0 filtered=0 duplicates=0 queued=0 high_water=0
/// active=true`; a format spec other than `{}` throws `fmt::format_error`.
/// **Thread-safety:** one formatter object per format call (fmt makes it); any thread.
template <>
struct fmt::formatter<herald::SubscriptionStats> : herald::detail::NoSpecFormatter {
    /// Writes the counters of `s` on one line.
    /// **Thread-safety:** any thread; reads only its argument.
    template <class FormatContext>
    auto format(const herald::SubscriptionStats& s, FormatContext& ctx) const
        -> decltype(ctx.out()) {
        return fmt::format_to(ctx.out(),
                              "delivered={} errors={} dropped={} skipped={} filtered={} "
                              "duplicates={} queued={} high_water={} active={}",
                              s.delivered, s.errors, s.dropped, s.skipped, s.filtered, s.duplicates,
                              s.queued, s.high_water, s.active);
    }
};

/// `channels=1 patterns=0 subscriptions=1 dispatched=5 errors=0 dropped=0 depth_exceeded=0
/// type_mismatches=0`; a format spec other than `{}` throws `fmt::format_error`.
/// **Thread-safety:** one formatter object per format call (fmt makes it); any thread.
template <>
struct fmt::formatter<herald::BrokerStats> : herald::detail::NoSpecFormatter {
    /// Writes the counters of `s` on one line.
    /// **Thread-safety:** any thread; reads only its argument.
    template <class FormatContext>
    auto format(const herald::BrokerStats& s, FormatContext& ctx) const -> decltype(ctx.out()) {
        return fmt::format_to(ctx.out(),
                              "channels={} patterns={} subscriptions={} dispatched={} errors={} "
                              "dropped={} depth_exceeded={} type_mismatches={}",
                              s.channels, s.patterns, s.subscriptions, s.dispatched, s.errors,
                              s.dropped, s.depth_exceeded, s.type_mismatches);
    }
};
