#pragma once
// The Redis bridge's configuration and health types: connection options, the distribution
// (which channels and patterns cross the server, with which codec), link states and stats.

#include <herald/detail/redis/codec.hpp>
#include <herald/pattern.hpp>
#include <herald/topic.hpp>
#include <herald/version.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

HERALD_NAMESPACE_BEGIN
namespace detail::redis {
class BridgeCore;
}

namespace redis {

/// What a full outbox does with one more message.
enum class Overflow : std::uint8_t {
    drop_newest, ///< the new message is dropped (counted); the default
    drop_oldest, ///< the oldest queued message is dropped (counted) to make room
    reject,      ///< the publish throws `outbox_full_error` (counted as dropped)
};

/// How messages look on the server (see docs/redis.md).
enum class WireFormat : std::uint8_t {
    /// The payload's bytes exactly: any Redis client interoperates. A process's own
    /// subscribers of a distributed channel are served through the server (once).
    raw,
    /// A 20-byte header (origin id, sequence per origin and channel) before the payload's
    /// bytes: a process serves its own subscribers at publish time and drops the server's echo,
    /// and gaps in each other process's sequence are counted. Untagged messages from other
    /// clients are still delivered as they are.
    tagged,
};

/// The state of the bridge's link to the server.
enum class LinkState : std::uint8_t {
    connecting,  ///< connecting, or connected and waiting for the server's first answers
    connected,   ///< both connections answer; subscriptions and publishes flow
    backing_off, ///< the last attempt or the link failed; waiting before the next attempt
    stopped,     ///< the bridge has stopped
};

/// "connecting", "connected", "backing_off" or "stopped".
/// **Thread-safety:** pure function.
constexpr std::string_view to_string(LinkState state) noexcept {
    switch (state) {
    case LinkState::connecting:
        return "connecting";
    case LinkState::connected:
        return "connected";
    case LinkState::backing_off:
        return "backing_off";
    case LinkState::stopped:
        return "stopped";
    }
    return "unknown";
}

/// What the state-change callback receives.
/// **Lifetime:** `reason` is valid only during the callback.
struct StateChange {
    LinkState state;
    std::string_view reason;              ///< why (an error text when the link failed)
    std::uint64_t reconnects;             ///< successful connections after the first
    std::chrono::milliseconds next_delay; ///< for backing_off: the delay before the next attempt
};

/// Reconnection delays: `initial`, doubled after every failed attempt up to `max`, each
/// shortened by a random fraction of at most `jitter` (0 to 1). Back to `initial` once a
/// connection has been established (both connections answered a PING).
struct Backoff {
    std::chrono::milliseconds initial{50};
    std::chrono::milliseconds max{5000};
    double jitter = 0.2;
};

/// The bridge's options.
struct Options {
    std::string host = "127.0.0.1"; ///< server address (a name is resolved on every attempt)
    int port = 6379;
    /// Prepended to every channel upstream (e.g. "myapp:"), so that applications sharing a
    /// server stay apart. Any bytes; escaped where it goes into a glob.
    std::string prefix;
    /// Messages waiting to be written to the server (also while disconnected).
    std::size_t outbox_capacity = 65536;
    Overflow overflow = Overflow::drop_newest;
    /// Received messages waiting for the delivery thread. When full, the bridge stops reading
    /// the subscriber connection (the server then buffers, up to its
    /// `client-output-buffer-limit pubsub`, and disconnects a consumer that stays too slow).
    std::size_t inbound_capacity = 65536;
    Backoff backoff{};
    WireFormat wire_format = WireFormat::raw;
    std::chrono::milliseconds connect_timeout{1000};
    /// A PING goes out on each connection this long after the last one was answered...
    std::chrono::milliseconds heartbeat_interval{500};
    /// ...and a PING (or the first answer after connecting) unanswered for this long fails the
    /// link. A stopped server is thus detected within heartbeat_interval + heartbeat_timeout.
    std::chrono::milliseconds heartbeat_timeout{1000};
    /// Called on the bridge's I/O thread for every state change; must not block for long and
    /// must not destroy the bridge. What it throws is swallowed.
    std::function<void(const StateChange&)> on_state;
};

/// Thrown for an option out of range; the message names the option.
class options_error : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

/// Which channels and patterns cross the server, and the codec of each payload type.
/// A channel is distributed when it is listed or matches a listed pattern; a pattern
/// subscription is distributed when its pattern is listed (equal kind, text and separator).
/// **Thread-safety:** a value type, built before the bridge; the bridge copies it.
class Distribution {
public:
    /// A string channel (payload `std::string`, identity codec).
    /// **Thread-safety:** not synchronised: build it on one thread. **Lifetime:** the bridge
    /// copies it; codecs are copied too.
    Distribution& channel(std::string name) {
        channels_.push_back(std::move(name));
        codecs_.add<std::string>(IdentityCodec{});
        return *this;
    }

    /// A typed topic with `codec` (the identity codec by default for string topics).
    /// **Thread-safety:** not synchronised: build it on one thread. **Lifetime:** the bridge
    /// copies it; codecs are copied too.
    template <class T, class C = typename DefaultCodec<T>::type>
    requires Codec<C, T> Distribution& topic(const Topic<T>& topic, C codec = C{}) {
        channels_.emplace_back(topic.name());
        codecs_.add<T>(std::move(codec));
        return *this;
    }

    /// A pattern whose subscriptions take `std::string` payloads: every channel it matches is
    /// distributed too.
    /// **Thread-safety:** not synchronised: build it on one thread. **Lifetime:** the bridge
    /// copies it; codecs are copied too.
    Distribution& pattern(Pattern pattern) {
        codecs_.add<std::string>(IdentityCodec{});
        patterns_.emplace_back(std::move(pattern), &detail::type_key<std::string>);
        return *this;
    }

    /// A pattern whose subscriptions take `T` payloads, decoded with `codec`
    /// (`distribution.pattern<Event>(herald::nats_pattern("events.>"), JsonCodec<Event>{})`).
    /// **Thread-safety:** not synchronised: build it on one thread. **Lifetime:** the bridge
    /// copies it; codecs are copied too.
    template <class T, class C = typename DefaultCodec<T>::type>
    requires Codec<C, T> Distribution& pattern(Pattern pattern, C codec = C{}) {
        codecs_.add<T>(std::move(codec));
        patterns_.emplace_back(std::move(pattern), &detail::type_key<T>);
        return *this;
    }

    /// A codec for payload type `T` without listing a channel (for channels distributed by a
    /// pattern and published with `T`).
    /// **Thread-safety:** not synchronised: build it on one thread. **Lifetime:** the bridge
    /// copies it; codecs are copied too.
    template <class T, class C>
    requires Codec<C, T> Distribution& codec(C codec) {
        codecs_.add<T>(std::move(codec));
        return *this;
    }

private:
    friend class detail::redis::BridgeCore;
    std::vector<std::string> channels_;
    std::vector<std::pair<Pattern, const detail::TypeKey*>> patterns_;
    detail::redis::CodecTable codecs_;
};

/// The bridge's health and counters: a snapshot, cheap to take (no lock on the data path).
struct Stats {
    LinkState state = LinkState::connecting;
    bool connected = false;
    std::uint64_t reconnects = 0;       ///< successful connections after the first
    std::uint64_t link_failures = 0;    ///< established links lost
    std::uint64_t connect_failures = 0; ///< connection attempts that failed
    std::string last_error;             ///< the latest failure, empty if none
    std::size_t upstream_channels = 0;  ///< SUBSCRIBEd channels on the current connection
    std::size_t upstream_patterns = 0;  ///< PSUBSCRIBEd patterns on the current connection
    std::uint64_t sent = 0;             ///< PUBLISHes the server acknowledged
    std::uint64_t received = 0;         ///< messages read from the server
    std::uint64_t delivered = 0;        ///< received messages handed to local subscribers
    std::size_t outbox_depth = 0;       ///< messages waiting to be written now
    std::size_t outbox_high_water = 0;
    std::size_t inbound_depth = 0; ///< received messages waiting for the delivery thread
    std::size_t inbound_high_water = 0;
    std::uint64_t reader_pauses = 0; ///< times the full inbound queue paused reading
    // drops by cause
    std::uint64_t dropped_overflow = 0;  ///< outbox full (the overflow policy)
    std::uint64_t dropped_in_flight = 0; ///< written but unacknowledged when the link failed
    std::uint64_t dropped_shutdown = 0;  ///< still queued (either way) when the bridge stopped
    std::uint64_t dropped_unrouted = 0;  ///< received for a channel no local subscriber wants
    std::uint64_t publish_errors = 0;    ///< PUBLISHes the server answered with an error
    std::uint64_t decode_errors = 0;     ///< received messages the codec rejected
    std::uint64_t codec_errors = 0;      ///< publishes of a payload type without codec
    std::uint64_t unroutable_subscriptions = 0; ///< distributed channels subscribed with a
                                                ///< payload type that has no codec
    std::uint64_t heartbeat_timeouts = 0;
    // tagged wire format only
    std::uint64_t echoes_dropped = 0;     ///< own messages the server sent back, dropped
    std::uint64_t sequence_gaps = 0;      ///< messages missed from other processes (by sequence)
    std::uint64_t untagged_received = 0;  ///< messages without the header (other clients)
    std::uint64_t server_disconnects = 0; ///< the server closed a connection
    std::uint64_t slow_consumer_disconnects = 0; ///< ...after the full inbound queue had paused
                                                 ///< reading (output buffer limit)
};

} // namespace redis
HERALD_NAMESPACE_END
