#pragma once
// A subscription with a gate: a content filter, deduplication or both, asked before the
// subscription's own delivery (handler call or enqueue). A gated subscription is another
// kind, wrapping any of the others, with its own table: its `deliver` asks the gate, then
// calls the wrapped kind's. Subscriptions without a gate do not pay for it, not even a branch.
//
//   dispatcher -> Gated::deliver -> Gate::admit (filter, then dedup window)
//                               \-> Kind's deliver (InlineSubscription / QueuedCore::enqueue)

#include <herald/detail/dedup_window.hpp>
#include <herald/detail/publication.hpp>
#include <herald/detail/subscription_core.hpp>
#include <herald/message.hpp>
#include <herald/subscribe_options.hpp>
#include <herald/version.hpp>

#include <atomic>
#include <concepts>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

HERALD_NAMESPACE_BEGIN
namespace detail {

/// Stands in for an option that was not given.
struct NoGateOption {};

template <class T, class Predicate>
concept PayloadPredicate = std::is_invocable_r_v<bool, Predicate&, const T&>;
template <class T, class Predicate>
concept MessagePredicate = std::is_invocable_r_v < bool,
        Predicate&, const Message<T>
& > ;

template <class K>
concept DedupKey = requires(const K& a, const K& b) {
    { std::hash<K>{}(a) } -> std::convertible_to<std::size_t>;
    { a == b } -> std::convertible_to<bool>;
};

/// The filter part of a gate.
template <class T, class Option>
struct FilterPart {
    static constexpr bool present = false;
    explicit FilterPart(NoGateOption) noexcept {}
    bool passes(const Delivery&) { return true; }
    void reset() noexcept {}
};

template <class T, class Predicate>
struct FilterPart<T, Filter<Predicate>> {
    static_assert(PayloadPredicate<T, Predicate> || MessagePredicate<T, Predicate>,
                  "herald::filter: the predicate must take const T& or const herald::Message<T>& "
                  "(T: the subscription's payload type) and return bool");
    static constexpr bool present = true;
    explicit FilterPart(Filter<Predicate>&& f) : predicate(std::in_place, std::move(f.predicate)) {}

    bool passes(const Delivery& d) {
        Publication& p = d.publication;
        const T& payload = *static_cast<const T*>(p.payload);
        if constexpr (PayloadPredicate<T, Predicate>) {
            return static_cast<bool>(std::invoke(*predicate, payload));
        } else {
            p.stamp_time();
            return static_cast<bool>(
                std::invoke(*predicate, Message<T>{d.route.kind, d.route.pattern, p.channel,
                                                   payload, d.route.sequence, p.published_at}));
        }
    }
    void reset() noexcept { predicate.reset(); }

    std::optional<Predicate> predicate;
};

/// The deduplication part of a gate.
template <class T, bool Concurrent, class Option>
struct DedupPart {
    static constexpr bool present = false;
    explicit DedupPart(NoGateOption) noexcept {}
    bool admits(const T&) { return true; }
    void reset() noexcept {}
};

template <class T, bool Concurrent, class KeyFunction>
struct DedupPart<T, Concurrent, Dedup<KeyFunction>> {
    static_assert(std::is_invocable_v<KeyFunction&, const T&>,
                  "herald::dedup: the key function must take const T& (T: the subscription's "
                  "payload type), or be a pointer to a member of T");
    using Key = std::remove_cvref_t<std::invoke_result_t<KeyFunction&, const T&>>;
    static_assert(DedupKey<Key>,
                  "herald::dedup: the key must be hashable with std::hash and comparable with ==");
    static constexpr bool present = true;
    explicit DedupPart(Dedup<KeyFunction>&& d)
        : key(std::in_place, std::move(d.key)), window(d.window) {}

    bool admits(const T& payload) { return window.admit(Key(std::invoke(*key, payload))); }
    void reset() noexcept { key.reset(); }

    std::optional<KeyFunction> key;
    DedupWindowOf<Key, Concurrent> window;
};

template <template <class> class Is, class O>
auto option_if(O&& option) {
    if constexpr (Is<std::remove_cvref_t<O>>::value) {
        return std::tuple<std::remove_cvref_t<O>>(std::forward<O>(option));
    } else {
        return std::tuple<>();
    }
}

/// The option of the kind `Is` names among `options` (at most one), or NoGateOption.
template <template <class> class Is, class... Options>
auto pick_option(Options&&... options) {
    static_assert(((Is<std::remove_cvref_t<Options>>::value ? 1 : 0) + ... + 0) <= 1,
                  "herald: give a subscription at most one herald::filter and one herald::dedup");
    if constexpr ((Is<std::remove_cvref_t<Options>>::value || ...)) {
        return std::get<0>(std::tuple_cat(option_if<Is>(std::forward<Options>(options))...));
    } else {
        return NoGateOption{};
    }
}

/// A subscription's gate: the filter first, then the deduplication window (so a message the
/// filter refuses takes no key).
template <class T, bool Concurrent, class FilterOption, class DedupOption>
class Gate {
public:
    Gate(FilterOption&& f, DedupOption&& d) : filter_(std::move(f)), dedup_(std::move(d)) {}

    /// Whether the delivery goes on to the subscription; counts what it refuses. What the
    /// predicate or key function throws propagates.
    bool admit(const Delivery& d) {
        if constexpr (FilterPart<T, FilterOption>::present) {
            if (!filter_.passes(d)) {
                filtered_.fetch_add(1, std::memory_order_relaxed);
                return false;
            }
        }
        if constexpr (DedupPart<T, Concurrent, DedupOption>::present) {
            if (!dedup_.admits(*static_cast<const T*>(d.publication.payload))) {
                duplicates_.fetch_add(1, std::memory_order_relaxed);
                return false;
            }
        }
        return true;
    }

    /// The subscription's broker let go: the user's functions go with the handler.
    void reset() noexcept {
        filter_.reset();
        dedup_.reset();
    }

    GateCounters counters() const noexcept {
        return {filtered_.load(std::memory_order_relaxed),
                duplicates_.load(std::memory_order_relaxed)};
    }

private:
    FilterPart<T, FilterOption> filter_;
    DedupPart<T, Concurrent, DedupOption> dedup_;
    std::atomic<std::uint64_t> filtered_{0};
    std::atomic<std::uint64_t> duplicates_{0};
};

/// The gate type for subscription options `Options...` on payload type `T`.
template <class T, bool Concurrent, class... Options>
using GateFor = Gate<T, Concurrent, decltype(pick_option<is_filter>(std::declval<Options>()...)),
                     decltype(pick_option<is_dedup>(std::declval<Options>()...))>;

/// Builds the gate for `options` (each given once: a filter and a dedup each take only theirs).
template <class T, bool Concurrent, class... Options>
GateFor<T, Concurrent, Options...> make_gate(Options&&... options) {
    // Each option is forwarded to exactly one of the two picks (a filter is not a dedup).
    return GateFor<T, Concurrent, Options...>(
        pick_option<is_filter>(std::forward<Options>(options)...),
        pick_option<is_dedup>(std::forward<Options>(options)...));
}

/// A subscription of kind `Kind` (InlineSubscription, QueuedSubscription, MailboxCore) behind
/// a gate.
template <class Kind, class GateType>
struct Gated final : Kind {
    /// `make_gate_here()` returns the gate (built in place: a gate does not move).
    template <class MakeGate, class... Args>
    explicit Gated(MakeGate&& make_gate_here, Args&&... args)
        : Kind(table(), std::forward<Args>(args)...), gate(make_gate_here()) {}

    static DeliveryOutcome deliver(SubscriptionCore& base, const Delivery& d) {
        auto& self = static_cast<Gated&>(base);
        bool admitted = false;
        try {
            admitted = self.gate.admit(d);
        } catch (...) {
            // A predicate or key function that throws counts as the handler throwing.
            d.publication.report(base, std::current_exception());
            return DeliveryOutcome::failed;
        }
        if (!admitted) {
            return DeliveryOutcome::filtered;
        }
        return Kind::table().deliver(base, d);
    }

    static void destroy_handler(SubscriptionCore& base) noexcept {
        Kind::table().destroy_handler(base);
        static_cast<Gated&>(base).gate.reset();
    }

    static void destroy(SubscriptionCore* base) noexcept { delete static_cast<Gated*>(base); }

    static GateCounters counters(const SubscriptionCore& base) noexcept {
        return static_cast<const Gated&>(base).gate.counters();
    }

    static const SubscriptionOps& table() noexcept {
        // Read once per subscription made, never on the data path.
        static const SubscriptionOps ops = [] {
            SubscriptionOps o = Kind::table();
            o.deliver = &deliver;
            o.destroy_handler = &destroy_handler;
            o.destroy = &destroy;
            o.gate = &counters;
            return o;
        }();
        return ops;
    }

    GateType gate;
};

/// A new subscription of kind `Kind` on payload type `T`, built from `args`: behind a gate
/// made of `options` when there are any, the plain kind otherwise.
template <class Kind, class T, bool Concurrent, class... Options, class... Args>
Kind* make_subscription(std::tuple<Options...> options, Args&&... args) {
    if constexpr (sizeof...(Options) == 0) {
        return new Kind(Kind::table(), std::forward<Args>(args)...);
    } else {
        using GateType = GateFor<T, Concurrent, Options...>;
        const auto build = [&options] {
            return std::apply(
                [](auto&&... o) {
                    return make_gate<T, Concurrent, Options...>(std::forward<decltype(o)>(o)...);
                },
                std::move(options));
        };
        return new Gated<Kind, GateType>(build, std::forward<Args>(args)...);
    }
}

} // namespace detail
HERALD_NAMESPACE_END
