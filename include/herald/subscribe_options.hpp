#pragma once
/// \file
/// What a subscription may be given after its handler (or queue options): a content filter
/// and deduplication, both evaluated on the publishing thread before the handler is invoked
/// or the message is enqueued.
///
///     broker.subscribe("orders", on_order, herald::filter([](const Order& o) { return o.total >
///     100; })); broker.subscribe("readings", on_reading, queued, herald::dedup(&Reading::id,
///     1000));

#include <herald/message.hpp>
#include <herald/version.hpp>

#include <chrono>
#include <concepts>
#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

HERALD_NAMESPACE_BEGIN

/// A subscription option that cannot work (a deduplication window bounded by neither a count
/// nor an age).
/// **Thread-safety:** immutable once thrown; copies may be read on any thread.
class subscribe_options_error : public std::invalid_argument {
public:
    /// Builds the error with the message `what`.
    using std::invalid_argument::invalid_argument;
};

/// A content filter: the subscription receives only the messages for which `predicate`
/// returns true. Made by `herald::filter`.
/// **Thread-safety:** a value; the subscription keeps its own copy.
template <class Predicate>
struct Filter {
    Predicate predicate; ///< takes `const T&` or `const Message<T>&`, returns bool
};

/// A content filter for `subscribe`/`psubscribe`: `predicate` takes the payload (`const T&`)
/// or the message (`const Message<T>&`, for routing on the channel or pattern) and returns
/// whether the subscription receives it. It runs on the publishing thread before the handler
/// is invoked or the message is enqueued; a message it refuses does not make the subscription
/// a receiver in `publish`'s count and is counted in `SubscriptionStats::filtered`. A predicate
/// that throws counts as the handler throwing (error hook, dead letter, `errors`).
/// **Thread-safety:** publishers on several threads may call the predicate at the same time,
/// as they may call an inline handler: it must be safe to call concurrently.
/// **Lifetime:** the subscription keeps a copy of `predicate` and destroys it with its handler.
template <class Predicate>
Filter<std::decay_t<Predicate>> filter(Predicate&& predicate) {
    return {std::forward<Predicate>(predicate)};
}

/// How long a deduplication key is remembered: the last `count` admitted keys, those admitted
/// less than `age` ago, or both (a key is forgotten by whichever bound it crosses first). A 0
/// leaves that bound off; at least one must be set.
/// **Thread-safety:** a plain value.
struct DedupWindow {
    std::size_t count = 0;                     ///< keys remembered (0: no count bound)
    std::chrono::steady_clock::duration age{}; ///< how long a key is remembered (0: none)
};

/// Deduplication by a key of the payload: made by `herald::dedup`.
/// **Thread-safety:** a value; the subscription keeps its own copy.
template <class KeyFunction>
struct Dedup {
    KeyFunction key;    ///< takes `const T&`, returns a hashable, equality-comparable key
    DedupWindow window; ///< how long a key is remembered
};

/// Deduplication for `subscribe`/`psubscribe`: a message whose key (`key(payload)`, or the
/// member `key` points to) equals the key of a message this subscription admitted within
/// `window` is dropped before the handler or the queue, is not a receiver in `publish`'s count,
/// and is counted in `SubscriptionStats::duplicates`. A key is remembered from the message
/// that admitted it; duplicates do not extend its time. Memory: one entry per remembered key
/// (the key, a time stamp and about 48 bytes of hash-table and queue overhead); with only an
/// age bound, as many entries as distinct keys arrive within the age. Runs after a filter, so
/// a filtered-out message does not take a key. Throws `subscribe_options_error` at subscribe
/// time for a window with neither bound.
/// **Thread-safety:** the window is shared by the subscription's publishers under a lock (a
/// single_threaded broker takes none); `key` may be called concurrently.
/// **Lifetime:** the subscription keeps a copy of `key` and the remembered keys until it ends.
template <class KeyFunction>
Dedup<std::decay_t<KeyFunction>> dedup(KeyFunction&& key, DedupWindow window) {
    return {std::forward<KeyFunction>(key), window};
}

/// `dedup(key, {count, 0})`: remembers the last `count` admitted keys.
/// **Thread-safety:** see `dedup(key, DedupWindow)`.
/// **Lifetime:** see `dedup(key, DedupWindow)`.
template <class KeyFunction>
Dedup<std::decay_t<KeyFunction>> dedup(KeyFunction&& key, std::size_t count) {
    return {std::forward<KeyFunction>(key), DedupWindow{count, {}}};
}

/// `dedup(key, {0, age})`: remembers the keys admitted less than `age` ago.
/// **Thread-safety:** see `dedup(key, DedupWindow)`.
/// **Lifetime:** see `dedup(key, DedupWindow)`.
template <class KeyFunction, class Rep, class Period>
Dedup<std::decay_t<KeyFunction>> dedup(KeyFunction&& key, std::chrono::duration<Rep, Period> age) {
    return {std::forward<KeyFunction>(key),
            DedupWindow{0, std::chrono::duration_cast<std::chrono::steady_clock::duration>(age)}};
}

namespace detail {
template <class O>
struct is_filter : std::false_type {};
template <class P>
struct is_filter<Filter<P>> : std::true_type {};
template <class O>
struct is_dedup : std::false_type {};
template <class K>
struct is_dedup<Dedup<K>> : std::true_type {};
} // namespace detail

/// What may follow a subscription's handler (or queue options): `herald::filter(...)` and
/// `herald::dedup(...)`, each at most once.
template <class O>
concept SubscribeOption = detail::is_filter<std::remove_cvref_t<O>>::value ||
    detail::is_dedup<std::remove_cvref_t<O>>::value;

HERALD_NAMESPACE_END
