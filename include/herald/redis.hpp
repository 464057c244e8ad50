#pragma once
/// \file
/// `herald::redis::Bridge`: the same broker API across processes and machines, through a Redis
/// or Valkey server. Components keep calling `subscribe` / `psubscribe` / `publish` on their
/// local `herald::Broker`; the bridge, attached to it, carries the channels and patterns it is
/// told to distribute through the server (with a channel prefix), following local interest:
/// one upstream `SUBSCRIBE` / `PSUBSCRIBE` per distributed channel or pattern that has at least
/// one local subscriber. See docs/redis.md for the set-up, the wire format, the failure
/// behaviour and what is lost when.
///
/// Needs hiredis (CMake target `herald::redis`); the JSON codec is in <herald/redis_json.hpp>.

#include <herald/broker.hpp>
#include <herald/detail/redis/bridge.hpp>
#include <herald/detail/redis/codec.hpp>
#include <herald/detail/redis/options.hpp>
#include <herald/detail/redis/outbox.hpp>
#include <herald/topic.hpp>
#include <herald/version.hpp>

#include <chrono>
#include <cstddef>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

HERALD_NAMESPACE_BEGIN
namespace redis {

/// A bridge between one local thread-safe broker and a Redis/Valkey server.
///
/// Publishing on a distributed channel (through the broker or the bridge) never blocks on the
/// network: the message is encoded on the publishing thread and queued in the bounded outbox,
/// which the bridge's I/O thread pipelines to the server; `Broker::publish` then returns 0 and
/// the process's own subscribers receive the message back from the server, once (the server's
/// `PUBLISH` count is available through `publish_async`). Received messages are decoded once
/// and handed to local subscribers on the bridge's delivery thread (inline handlers run there).
///
/// **Thread-safety:** every member function may be called from any thread; the destructor
/// not from a handler of the bridged broker nor from the state callback (it joins the bridge's
/// threads; see `stop` for what those may call).
/// **Lifetime:** the bridge keeps the broker's implementation alive; destroying the `Broker`
/// first shuts it down (the bridge then delivers to nobody). Destroying the bridge removes its
/// hooks (publishes on distributed channels are local again from then on) and stops promptly
/// in every link state; what is still queued either way is dropped and counted.
class Bridge {
public:
    /// Attaches to `broker`, distributing what `distribution` lists, and starts connecting
    /// (the constructor does not wait for the server: see `flush` and `Options::on_state`).
    /// Throws `options_error` for an option out of range, `std::logic_error` if the broker
    /// already has a bridge (or other extension) attached.
    /// **Thread-safety:** any thread but a handler of `broker`.
    /// **Lifetime:** existing local subscriptions of distributed channels and patterns get their
    /// upstream subscriptions at once.
    template <class Payload>
    Bridge(Broker<Payload, thread_safe>& broker, Options options, const Distribution& distribution)
        : core_(std::make_unique<detail::redis::BridgeCore>(
              detail::BrokerAccess::impl(broker).shared_from_this(), std::move(options),
              distribution)) {
        core_->start();
    }

    Bridge(const Bridge&) = delete;
    Bridge& operator=(const Bridge&) = delete;

    /// Stops (see `stop`) and joins the bridge's threads.
    /// **Thread-safety:** not from a handler of the bridged broker nor from the state callback.
    /// **Lifetime:** returns promptly in every link state; what is still queued is dropped and
    /// counted (`Stats::dropped_shutdown`, readable until the bridge is gone).
    ~Bridge() { core_->stop(); }

    /// Publishes `payload` on the distributed string channel `channel`; the future receives the
    /// server's `PUBLISH` count (receivers across all processes, this one's included), or a
    /// `message_dropped_error` saying why it never got one. Throws `not_distributed_error`,
    /// `outbox_full_error` (policy `reject`) or `bridge_stopped_error`.
    /// **Thread-safety:** any thread, including handlers. **Lifetime:** `payload` is encoded
    /// before the call returns.
    std::future<std::size_t> publish_async(std::string_view channel, const std::string& payload) {
        return core_->publish_async(channel, detail::type_key<std::string>, &payload);
    }

    /// Publishes `payload` on the distributed typed topic `topic`, encoded with the codec of `T`
    /// (`codec_error` if none); the future receives the server's `PUBLISH` count or a
    /// `message_dropped_error`. Throws as the string-channel form does.
    /// **Thread-safety:** any thread, including handlers. **Lifetime:** `payload` is encoded
    /// before the call returns.
    template <class T>
    std::future<std::size_t> publish_async(const Topic<T>& topic, const T& payload) {
        return core_->publish_async(topic.name(), detail::type_key<T>, &payload);
    }

    /// Waits until everything handed to the bridge so far has been acknowledged by the server
    /// and the upstream subscriptions match local interest, while connected. False if that did
    /// not happen within `timeout` (disconnected, or the bridge stopped).
    /// **Thread-safety:** any thread; from a handler it can only time out if handlers must
    /// run first. **Lifetime:** —
    bool flush(std::chrono::milliseconds timeout) const { return core_->flush(timeout); }

    /// True if publishes on `channel` go through the server.
    /// **Thread-safety:** any thread. **Lifetime:** fixed for the bridge's life.
    bool distributed(std::string_view channel) const noexcept {
        return core_->distributed(channel);
    }

    /// Health and counters (a snapshot; cheap enough for a health check).
    /// **Thread-safety:** any thread. **Lifetime:** the snapshot is a value.
    Stats stats() const { return core_->stats(); }

    /// The options the bridge was built with.
    /// **Thread-safety:** any thread. **Lifetime:** as long as the bridge.
    const Options& options() const noexcept { return core_->options(); }

    /// Detaches from the broker and stops both threads; returns promptly in every link state
    /// (connecting, connected, backing off), after a handler running on the delivery thread
    /// has returned. Messages still in the outbox, received but undelivered, or written but
    /// unacknowledged are dropped and counted in `Stats::dropped_shutdown`. Idempotent.
    /// **Thread-safety:** any thread. From a handler running on the bridge's delivery thread or
    /// from the state callback it only stops the bridge's work and returns (a thread cannot
    /// join itself); the hooks are removed and the threads joined by the destructor, which must
    /// then run on another thread.
    /// **Lifetime:** afterwards, the broker's distributed channels are local again.
    void stop() noexcept { core_->stop(); }

private:
    std::unique_ptr<detail::redis::BridgeCore> core_;
};

} // namespace redis
HERALD_NAMESPACE_END
