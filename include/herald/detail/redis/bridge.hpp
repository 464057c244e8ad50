#pragma once
// The Redis bridge's engine: the broker hooks that follow local interest and divert publishes
// on distributed channels into the outbox, the I/O thread that owns both connections (one for
// SUBSCRIBE/PSUBSCRIBE, one for pipelined PUBLISH) and the delivery thread that decodes what
// the server sends and hands it to local subscribers. Over 700 lines: the three threads share
// one state machine (link state, upstream set, outbox, inbound queue) that is not yet split;
// the next step is one file per thread's side.
//
// Threads: one I/O thread polls the two sockets and a self-pipe, so connecting, backing off
// and waiting for replies are all interruptible (shutdown is prompt in every state). Handlers
// never run on it: received messages go to a bounded inbound queue consumed by the delivery
// thread; when that queue is full the I/O thread stops reading the subscriber socket, which
// makes the server's client-output-buffer-limit the policy for a consumer that stays slow.

#include <herald/broker.hpp>
#include <herald/detail/hooks.hpp>
#include <herald/detail/redis/codec.hpp>
#include <herald/detail/redis/connection.hpp>
#include <herald/detail/redis/options.hpp>
#include <herald/detail/redis/outbox.hpp>
#include <herald/detail/redis/upstream.hpp>
#include <herald/detail/redis/wire.hpp>
#include <herald/errors.hpp>

#include <poll.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

HERALD_NAMESPACE_BEGIN
namespace redis {

/// An operation on a bridge that has stopped.
class bridge_stopped_error : public error {
public:
    bridge_stopped_error() : error("herald::redis: the bridge has stopped") {}
};

/// A publish through the bridge on a channel it does not distribute.
class not_distributed_error : public error {
public:
    explicit not_distributed_error(std::string_view channel)
        : error("herald::redis: channel '" + std::string(channel) +
                "' is not distributed by this bridge (see Distribution)") {}
};

} // namespace redis

namespace detail::redis {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
        return std::hash<std::string_view>{}(s);
    }
};
using StringSet = std::unordered_set<std::string, StringHash, std::equal_to<>>;

/// A distributed pattern.
struct PatternSelector {
    Pattern pattern;
    std::string upstream;    // glob_escape(prefix) + superset_glob(pattern)
    const CodecEntry* codec; // decodes what its subscriptions take
    bool refilter;           // a token pattern: the upstream glob may match more
};

/// A message read from the subscriber connection: the parsed reply itself, so its bytes are
/// not copied again before the one decode.
struct InboundMessage {
    bool pmessage = false;
    Reply reply; // ["message", channel, payload] or ["pmessage", pattern, channel, payload]

    std::string_view pattern() const noexcept {
        return pmessage ? reply_text(reply->element[1]) : std::string_view();
    }
    std::string_view channel() const noexcept {
        return reply_text(reply->element[pmessage ? 2 : 1]);
    }
    std::string_view payload() const noexcept {
        return reply_text(reply->element[pmessage ? 3 : 2]);
    }
};

/// Bounded queue from the I/O thread to the delivery thread. Its size counts the messages
/// queued and those of the consumer's current batch not yet handled.
class Inbound {
public:
    explicit Inbound(std::size_t capacity) : capacity_(capacity) {}

    /// Returns the size after the push.
    std::size_t push(InboundMessage message) {
        std::size_t size = 0;
        bool wake = false;
        {
            std::lock_guard lock(mutex_);
            messages_.push_back(std::move(message));
            queued_.store(messages_.size(), std::memory_order_relaxed);
            size = messages_.size() + taken_.load(std::memory_order_relaxed);
            if (size > high_water_.load(std::memory_order_relaxed)) {
                high_water_.store(size, std::memory_order_relaxed);
            }
            wake = waiting_;
        }
        if (wake) { // a consumer busy with a batch needs no futex call per message
            ready_.notify_one();
        }
        return size;
    }

    /// Waits for messages and takes all of them; false once stopped.
    bool pop_all(std::deque<InboundMessage>& out) {
        out.clear();
        std::unique_lock lock(mutex_);
        waiting_ = true;
        ready_.wait(lock, [&] { return stopped_ || !messages_.empty(); });
        waiting_ = false;
        if (stopped_) {
            return false;
        }
        out.swap(messages_);
        taken_.store(out.size(), std::memory_order_relaxed);
        queued_.store(0, std::memory_order_relaxed);
        return true;
    }

    /// One message of the batch taken by pop_all has been handled (consumer thread only).
    void handled() noexcept { taken_.fetch_sub(1, std::memory_order_relaxed); }

    /// Stops the consumer (it returns from pop_all, or leaves its batch at the next message).
    void stop() {
        {
            std::lock_guard lock(mutex_);
            stopped_ = true;
        }
        ready_.notify_all();
    }

    /// After the consumer has ended: how many messages were never handled (discarded).
    std::size_t discard_remaining() {
        std::lock_guard lock(mutex_);
        const std::size_t n = messages_.size() + taken_.load(std::memory_order_relaxed);
        messages_.clear();
        taken_.store(0, std::memory_order_relaxed);
        queued_.store(0, std::memory_order_relaxed);
        return n;
    }

    bool full() const noexcept { return size() >= capacity_; }
    std::size_t capacity() const noexcept { return capacity_; }
    std::size_t size() const noexcept {
        return queued_.load(std::memory_order_relaxed) + taken_.load(std::memory_order_relaxed);
    }
    std::size_t high_water() const noexcept { return high_water_.load(std::memory_order_relaxed); }

private:
    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<InboundMessage> messages_;
    const std::size_t capacity_;
    bool waiting_ = false;
    bool stopped_ = false;
    std::atomic<std::size_t> queued_{0};
    std::atomic<std::size_t> taken_{0}; // the current batch's messages not yet handled
    std::atomic<std::size_t> high_water_{0};
};

inline void validate(const herald::redis::Options& o) {
    using herald::redis::options_error;
    if (o.port <= 0 || o.port > 65535) {
        throw options_error("herald::redis: Options::port must be 1..65535, not " +
                            std::to_string(o.port));
    }
    if (o.host.empty()) {
        throw options_error("herald::redis: Options::host is empty");
    }
    if (o.outbox_capacity == 0) {
        throw options_error("herald::redis: Options::outbox_capacity must be at least 1");
    }
    if (o.inbound_capacity == 0) {
        throw options_error("herald::redis: Options::inbound_capacity must be at least 1");
    }
    if (o.backoff.initial.count() <= 0 || o.backoff.max < o.backoff.initial) {
        throw options_error("herald::redis: Options::backoff needs 0 < initial <= max");
    }
    if (!(o.backoff.jitter >= 0.0 && o.backoff.jitter <= 1.0)) {
        throw options_error("herald::redis: Options::backoff.jitter must be within [0, 1]");
    }
    if (o.connect_timeout.count() <= 0 || o.heartbeat_interval.count() <= 0 ||
        o.heartbeat_timeout.count() <= 0) {
        throw options_error("herald::redis: Options::connect_timeout, heartbeat_interval and "
                            "heartbeat_timeout must be positive");
    }
}

class BridgeCore final : public BrokerHooks {
public:
    BridgeCore(std::shared_ptr<LocalBroker> broker, herald::redis::Options options,
               const herald::redis::Distribution& distribution)
        : broker_(std::move(broker)), options_((validate(options), std::move(options))),
          codecs_(distribution.codecs_), outbox_(options_.outbox_capacity, options_.overflow),
          inbound_(options_.inbound_capacity), random_(std::random_device{}()) {
        std::random_device device;
        while (origin_ == 0) {
            origin_ = (std::uint64_t{device()} << 32) ^ device();
        }
        for (const std::string& c : distribution.channels_) {
            exact_.insert(c);
        }
        const std::string escaped_prefix = glob_escape(options_.prefix);
        // Not a structured binding: clang 14 cannot capture one in the lambda below.
        for (const auto& entry : distribution.patterns_) {
            const Pattern& pattern = entry.first;
            const auto* type = entry.second;
            const bool duplicate = std::any_of(selectors_.begin(), selectors_.end(),
                                               [&](const auto& s) { return s.pattern == pattern; });
            if (duplicate) {
                continue;
            }
            selectors_.push_back(PatternSelector{pattern, escaped_prefix + superset_glob(pattern),
                                                 codecs_.find(*type),
                                                 pattern.kind() != PatternKind::glob});
        }
        wanted_selectors_.assign(selectors_.size(), false);
    }

    BridgeCore(const BridgeCore&) = delete;
    BridgeCore& operator=(const BridgeCore&) = delete;
    ~BridgeCore() override { stop(); }

    /// Installs the hooks (replaying current interest) and starts the threads.
    void start() {
        broker_->install_hooks(*this);
        hooked_ = true;
        try {
            delivery_thread_ = std::thread([this] { deliver_loop(); });
            io_thread_ = std::thread([this] { io_loop(); });
        } catch (...) {
            stop();
            throw;
        }
    }

    void stop() noexcept {
        const auto self = std::this_thread::get_id();
        if (self == io_thread_.get_id() || self == delivery_thread_.get_id()) {
            // From a state callback or a handler: a thread cannot join itself. Stop asking for
            // more work; the destructor, on another thread, does the rest.
            stopping_.store(true, std::memory_order_seq_cst);
            waker_.wake();
            inbound_.stop();
            return;
        }
        std::lock_guard stop_lock(stop_mutex_);
        if (hooked_) {
            broker_->remove_hooks(); // no publish or interest change reaches us after this
            hooked_ = false;
        }
        stopping_.store(true, std::memory_order_seq_cst);
        waker_.wake();
        if (io_thread_.joinable()) {
            io_thread_.join();
        }
        inbound_.stop();
        if (delivery_thread_.joinable()) {
            delivery_thread_.join();
        }
        // What was received but not yet handed to local subscribers is discarded (counted).
        dropped_shutdown_.fetch_add(inbound_.discard_remaining(), std::memory_order_relaxed);
        for (auto& entry : outbox_.take_all()) {
            dropped_shutdown_.fetch_add(1, std::memory_order_relaxed);
            fail_completion(entry.completion, herald::redis::DropCause::shutdown,
                            "the bridge stopped before it was written");
        }
    }

    // ---- hooks (publishing threads; interest under the broker's writer lock) ---------------

    bool before_publish(const PublishEvent& event) override {
        if (!distributed(event.channel)) {
            return true;
        }
        enqueue(event.channel, *event.type, event.payload, nullptr);
        // Raw: local subscribers are served through the server. Tagged: served now, and the
        // echo is recognised and dropped.
        return tagged();
    }

    void channel_interest(std::string_view channel, const TypeKey& type,
                          Interest interest) override {
        if (!distributed(channel)) {
            return;
        }
        {
            std::lock_guard lock(interest_mutex_);
            if (interest == Interest::appeared) {
                const CodecEntry* codec = codecs_.find(type);
                if (codec == nullptr) {
                    unroutable_.fetch_add(1, std::memory_order_relaxed);
                    record_error("channel '" + std::string(channel) +
                                 "' subscribed with payload type '" + std::string(type.name) +
                                 "', which has no codec");
                    return;
                }
                wanted_channels_.emplace(std::string(channel), codec);
            } else if (auto it = wanted_channels_.find(channel); it != wanted_channels_.end()) {
                wanted_channels_.erase(it);
            } else {
                return;
            }
            generation_.fetch_add(1, std::memory_order_release);
        }
        waker_.wake();
    }

    void pattern_interest(const Pattern& pattern, Interest interest) override {
        {
            std::lock_guard lock(interest_mutex_);
            bool changed = false;
            for (std::size_t i = 0; i < selectors_.size(); ++i) {
                if (selectors_[i].pattern == pattern) {
                    wanted_selectors_[i] = interest == Interest::appeared;
                    changed = true;
                }
            }
            if (!changed) {
                return;
            }
            generation_.fetch_add(1, std::memory_order_release);
        }
        waker_.wake();
    }

    // ---- the bridge's own API --------------------------------------------------------------

    bool distributed(std::string_view channel) const noexcept {
        if (exact_.find(channel) != exact_.end()) {
            return true;
        }
        for (const PatternSelector& s : selectors_) {
            if (s.pattern.matches(channel)) {
                return true;
            }
        }
        return false;
    }

    std::future<std::size_t> publish_async(std::string_view channel, const TypeKey& type,
                                           const void* payload) {
        if (!distributed(channel)) {
            throw herald::redis::not_distributed_error(channel);
        }
        auto completion = std::make_unique<std::promise<std::size_t>>();
        std::future<std::size_t> future = completion->get_future();
        const CodecEntry* codec = enqueue(channel, type, payload, std::move(completion));
        if (tagged()) {
            codec->deliver_local(*broker_, channel, payload);
        }
        return future;
    }

    bool flush(std::chrono::milliseconds timeout) const {
        const auto deadline = Clock::now() + timeout;
        auto pause = std::chrono::microseconds(10); // short at first: flushes are often quick
        for (;;) {
            if (settled()) {
                return true;
            }
            if (Clock::now() >= deadline || stopping_.load(std::memory_order_relaxed)) {
                return false;
            }
            std::this_thread::sleep_for(pause);
            pause = std::min<std::chrono::microseconds>(pause * 2, 1ms);
        }
    }

    herald::redis::Stats stats() const {
        herald::redis::Stats s;
        s.state = state_.load(std::memory_order_relaxed);
        s.connected = s.state == herald::redis::LinkState::connected;
        s.reconnects = reconnects_.load(std::memory_order_relaxed);
        s.link_failures = link_failures_.load(std::memory_order_relaxed);
        s.connect_failures = connect_failures_.load(std::memory_order_relaxed);
        {
            std::lock_guard lock(error_mutex_);
            s.last_error = last_error_;
        }
        s.upstream_channels = upstream_channel_count_.load(std::memory_order_relaxed);
        s.upstream_patterns = upstream_pattern_count_.load(std::memory_order_relaxed);
        s.sent = sent_.load(std::memory_order_relaxed);
        s.received = received_.load(std::memory_order_relaxed);
        s.delivered = delivered_.load(std::memory_order_relaxed);
        s.outbox_depth = outbox_.size();
        s.outbox_high_water = outbox_.high_water();
        s.inbound_depth = inbound_.size();
        s.inbound_high_water = inbound_.high_water();
        s.reader_pauses = reader_pauses_.load(std::memory_order_relaxed);
        s.dropped_overflow = outbox_.dropped();
        s.dropped_in_flight = dropped_in_flight_.load(std::memory_order_relaxed);
        s.dropped_shutdown = dropped_shutdown_.load(std::memory_order_relaxed);
        s.dropped_unrouted = dropped_unrouted_.load(std::memory_order_relaxed);
        s.publish_errors = publish_errors_.load(std::memory_order_relaxed);
        s.decode_errors = decode_errors_.load(std::memory_order_relaxed);
        s.codec_errors = codec_errors_.load(std::memory_order_relaxed);
        s.unroutable_subscriptions = unroutable_.load(std::memory_order_relaxed);
        s.heartbeat_timeouts = heartbeat_timeouts_.load(std::memory_order_relaxed);
        s.echoes_dropped = echoes_dropped_.load(std::memory_order_relaxed);
        s.sequence_gaps = sequence_gaps_.load(std::memory_order_relaxed);
        s.untagged_received = untagged_received_.load(std::memory_order_relaxed);
        s.server_disconnects = server_disconnects_.load(std::memory_order_relaxed);
        s.slow_consumer_disconnects = slow_consumer_disconnects_.load(std::memory_order_relaxed);
        return s;
    }

    const herald::redis::Options& options() const noexcept { return options_; }

private:
    // ---- publishing side -------------------------------------------------------------------

    bool tagged() const noexcept {
        return options_.wire_format == herald::redis::WireFormat::tagged;
    }

    const CodecEntry* enqueue(std::string_view channel, const TypeKey& type, const void* payload,
                              Completion completion) {
        if (stopping_.load(std::memory_order_relaxed)) {
            throw herald::redis::bridge_stopped_error();
        }
        const CodecEntry* codec = codecs_.find(type);
        if (codec == nullptr) {
            codec_errors_.fetch_add(1, std::memory_order_relaxed);
            throw herald::redis::codec_error(channel, type.name);
        }
        std::string encoded;
        if (!codec->identity) {
            encoded = codec->encode(payload);
        }
        const std::string_view bytes =
            codec->identity ? std::string_view(*static_cast<const std::string*>(payload))
                            : std::string_view(encoded);
        if (tagged()) {
            // The sequence is taken and the message queued under one lock, so the outbox holds
            // each channel's messages in sequence order (receivers count gaps from it).
            std::lock_guard lock(sequence_mutex_);
            auto it = next_sequence_.find(channel);
            if (it == next_sequence_.end()) {
                it = next_sequence_.emplace(std::string(channel), 1).first;
            }
            const std::string header = tag_header(origin_, it->second);
            outbox_.push(OutboxEntry{format_publish(options_.prefix, channel, bytes, header),
                                     generation_.load(std::memory_order_acquire),
                                     std::move(completion)});
            ++it->second; // only once queued: a rejected message leaves no gap
        } else {
            outbox_.push(OutboxEntry{format_publish(options_.prefix, channel, bytes),
                                     generation_.load(std::memory_order_acquire),
                                     std::move(completion)});
        }
        if (idle_.exchange(false, std::memory_order_seq_cst)) {
            waker_.wake();
        }
        return codec;
    }

    bool settled() const {
        if (state_.load(std::memory_order_relaxed) != herald::redis::LinkState::connected) {
            return false;
        }
        return outbox_.size() == 0 && in_flight_count_.load(std::memory_order_acquire) == 0 &&
               confirmed_generation_.load(std::memory_order_acquire) ==
                   generation_.load(std::memory_order_acquire);
    }

    // ---- I/O thread -------------------------------------------------------------------------

    struct InFlight {
        bool ping;
        Completion completion;
    };

    bool stopping() const noexcept { return stopping_.load(std::memory_order_relaxed); }

    void record_error(std::string text) {
        std::lock_guard lock(error_mutex_);
        last_error_ = std::move(text);
    }

    void set_state(herald::redis::LinkState state, std::string_view reason,
                   std::chrono::milliseconds delay = 0ms) noexcept {
        state_.store(state, std::memory_order_release);
        if (options_.on_state) {
            try {
                options_.on_state(herald::redis::StateChange{
                    state, reason, reconnects_.load(std::memory_order_relaxed), delay});
            } catch (...) {
                // A throwing callback must not take the link down.
            }
        }
    }

    std::chrono::milliseconds backoff_delay(std::size_t attempt) {
        const auto& b = options_.backoff;
        double delay = static_cast<double>(b.initial.count());
        for (std::size_t i = 0; i < attempt && delay < static_cast<double>(b.max.count()); ++i) {
            delay *= 2;
        }
        delay = std::min(delay, static_cast<double>(b.max.count()));
        std::uniform_real_distribution<double> fraction(0.0, b.jitter);
        delay *= 1.0 - fraction(random_);
        return std::chrono::milliseconds(std::max<long long>(1, static_cast<long long>(delay)));
    }

    /// Sleeps up to `delay`, or less if stopping.
    void pause_for(std::chrono::milliseconds delay) {
        const auto deadline = Clock::now() + delay;
        while (!stopping()) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            if (left.count() <= 0) {
                return;
            }
            pollfd fd{waker_.fd(), POLLIN, 0};
            ::poll(&fd, 1, static_cast<int>(left.count()) + 1);
            waker_.drain();
        }
    }

    void io_loop() {
        std::size_t attempt = 0;
        bool first = true;
        std::string reason = "starting";
        while (!stopping()) {
            set_state(herald::redis::LinkState::connecting, reason);
            std::string error;
            ConnectResult r = pub_.connect(options_.host, options_.port, options_.connect_timeout,
                                           waker_.fd(), stopping_, error);
            if (r == ConnectResult::connected) {
                r = sub_.connect(options_.host, options_.port, options_.connect_timeout,
                                 waker_.fd(), stopping_, error);
            }
            if (r == ConnectResult::stopped) {
                break;
            }
            if (r == ConnectResult::connected) {
                const bool established = run_connected(attempt, first, error);
                if (established) {
                    link_failures_.fetch_add(1, std::memory_order_relaxed);
                } else if (!stopping()) {
                    connect_failures_.fetch_add(1, std::memory_order_relaxed);
                }
            } else {
                connect_failures_.fetch_add(1, std::memory_order_relaxed);
            }
            drop_link();
            if (stopping()) {
                break;
            }
            record_error(error);
            const auto delay = backoff_delay(attempt++);
            set_state(herald::redis::LinkState::backing_off, error, delay);
            pause_for(delay);
            reason = error;
        }
        drop_link();
        set_state(herald::redis::LinkState::stopped, "stopped");
    }

    /// Closes both connections; what was written but not acknowledged is lost (at most once:
    /// it may or may not have reached the server, so it is not written again).
    void drop_link() {
        pub_.close();
        sub_.close();
        for (InFlight& f : in_flight_) {
            if (!f.ping) {
                (stopping() ? dropped_shutdown_ : dropped_in_flight_)
                    .fetch_add(1, std::memory_order_relaxed);
                fail_completion(f.completion,
                                stopping() ? herald::redis::DropCause::shutdown
                                           : herald::redis::DropCause::in_flight,
                                "written but not acknowledged when the link was lost");
            }
        }
        in_flight_.clear();
        in_flight_count_.store(0, std::memory_order_release);
        upstream_channels_.clear();
        upstream_patterns_.clear();
        upstream_channel_count_.store(0, std::memory_order_relaxed);
        upstream_pattern_count_.store(0, std::memory_order_relaxed);
        sub_acks_pending_ = 0;
        seen_generation_ = ~std::uint64_t{0};
        confirmed_generation_.store(0, std::memory_order_release);
        paused_.store(false, std::memory_order_relaxed);
        state_.store(herald::redis::LinkState::backing_off, std::memory_order_relaxed);
    }

    /// Runs one established pair of connections until it fails (false if it never completed
    /// the handshake) or the bridge stops. `error` receives the reason.
    bool run_connected(std::size_t& attempt, bool& first, std::string& error) {
        const std::string ping = format_command({"PING"});
        pub_.queue(ping);
        in_flight_.push_back(InFlight{true, nullptr});
        sub_.queue(ping);
        auto now = Clock::now();
        Heartbeat pub_beat{true, now};
        Heartbeat sub_beat{true, now};
        bool pub_ready = false; // answered the first PING
        bool sub_ready = false;
        bool established = false;
        bool paused_here = false; // the reader was paused on this connection
        std::vector<OutboxEntry> batch;
        for (;;) {
            if (stopping()) {
                error = "stopped";
                return established;
            }
            if (established) {
                reconcile();
                write_outbox(batch);
            }
            if (!pub_.flush(error) || !sub_.flush(error)) {
                return established;
            }
            // Heartbeats.
            now = Clock::now();
            const bool paused = paused_.load(std::memory_order_relaxed);
            if (pub_beat.outstanding && now - pub_beat.since > options_.heartbeat_timeout) {
                mark_down();
                heartbeat_timeouts_.fetch_add(1, std::memory_order_relaxed);
                error = "heartbeat timeout: the server did not answer PING within " +
                        std::to_string(options_.heartbeat_timeout.count()) + " ms";
                return established;
            }
            if (!paused && sub_beat.outstanding &&
                now - sub_beat.since > options_.heartbeat_timeout) {
                mark_down();
                heartbeat_timeouts_.fetch_add(1, std::memory_order_relaxed);
                error = "heartbeat timeout: the server did not answer PING within " +
                        std::to_string(options_.heartbeat_timeout.count()) +
                        " ms on the subscriber connection";
                return established;
            }
            if (established) {
                if (!pub_beat.outstanding && now - pub_beat.since >= options_.heartbeat_interval) {
                    pub_.queue(ping);
                    in_flight_.push_back(InFlight{true, nullptr});
                    pub_beat = {true, now};
                    continue;
                }
                if (!paused && !sub_beat.outstanding &&
                    now - sub_beat.since >= options_.heartbeat_interval) {
                    sub_.queue(ping);
                    sub_beat = {true, now};
                    continue;
                }
            }
            // Wait.
            auto wake_at =
                std::min(pub_beat.since + (pub_beat.outstanding ? options_.heartbeat_timeout
                                                                : options_.heartbeat_interval),
                         sub_beat.since + (sub_beat.outstanding ? options_.heartbeat_timeout
                                                                : options_.heartbeat_interval));
            const auto wait_ms = std::max<long long>(
                1,
                std::chrono::duration_cast<std::chrono::milliseconds>(wake_at - now).count() + 1);
            idle_.store(true, std::memory_order_seq_cst);
            const bool can_write =
                in_flight_.size() < max_in_flight && outbox_.ready(writable_generation());
            const bool more_work =
                established &&
                (can_write || generation_.load(std::memory_order_acquire) != seen_generation_);
            pollfd fds[3] = {
                {waker_.fd(), POLLIN, 0},
                {pub_.fd(), static_cast<short>(POLLIN | (pub_.wants_write() ? POLLOUT : 0)), 0},
                {sub_.fd(),
                 static_cast<short>((paused ? 0 : POLLIN) | (sub_.wants_write() ? POLLOUT : 0)), 0},
            };
            const int n = ::poll(fds, 3, more_work ? 0 : static_cast<int>(wait_ms));
            idle_.store(false, std::memory_order_relaxed);
            if (n < 0) {
                continue; // EINTR
            }
            if (fds[0].revents != 0) {
                waker_.drain();
            }
            if ((fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
                if (!pub_.fill(error)) {
                    mark_down();
                    if (error.find("closed") != std::string::npos) {
                        server_disconnects_.fetch_add(1, std::memory_order_relaxed);
                    }
                    return established;
                }
            }
            if (!read_publisher(pub_beat, pub_ready, error)) {
                return established;
            }
            if (!paused && (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
                if (!sub_.fill(error)) {
                    mark_down();
                    if (error.find("closed") != std::string::npos ||
                        error.find("reset") != std::string::npos) {
                        if (paused_here) {
                            slow_consumer_disconnects_.fetch_add(1, std::memory_order_relaxed);
                            error = "the server closed the subscriber connection after it fell "
                                    "behind (client-output-buffer-limit pubsub): " +
                                    error;
                        } else {
                            server_disconnects_.fetch_add(1, std::memory_order_relaxed);
                        }
                    }
                    return established;
                }
            }
            if (paused && inbound_.size() <= inbound_.capacity() / 2) {
                paused_.store(false, std::memory_order_relaxed);
                sub_beat.since = Clock::now(); // its PING could not be read meanwhile
            }
            if (!paused_.load(std::memory_order_relaxed)) {
                if (!read_subscriber(sub_beat, sub_ready, error)) {
                    return established;
                }
                if (paused_.load(std::memory_order_relaxed)) {
                    paused_here = true;
                }
            }
            if (!established && pub_ready && sub_ready) {
                established = true;
                attempt = 0; // a good connection resets the backoff
                if (!first) {
                    reconnects_.fetch_add(1, std::memory_order_relaxed);
                }
                first = false;
                set_state(herald::redis::LinkState::connected, "connected");
            }
        }
    }

    /// The link is failing: stop reporting it as connected before the failure is counted, so
    /// that whoever sees the count also sees the state (flush() cannot succeed in between).
    void mark_down() noexcept {
        state_.store(herald::redis::LinkState::backing_off, std::memory_order_release);
    }

    struct Heartbeat {
        bool outstanding;
        Clock::time_point since; // when the PING went out, or when its answer came
    };

    static constexpr std::size_t max_in_flight = 8192;

    bool read_publisher(Heartbeat& beat, bool& ready, std::string& error) {
        for (;;) {
            Reply reply;
            try {
                reply = pub_.next_reply();
            } catch (const std::exception& e) {
                error = e.what();
                return false;
            }
            if (!reply) {
                return true;
            }
            if (in_flight_.empty()) {
                error = "unexpected reply on the publisher connection";
                return false;
            }
            InFlight f = std::move(in_flight_.front());
            in_flight_.pop_front();
            if (f.ping) {
                ready = true;
                beat = {false, Clock::now()};
                continue;
            }
            in_flight_count_.fetch_sub(1, std::memory_order_release);
            if (reply->type == REDIS_REPLY_INTEGER) {
                sent_.fetch_add(1, std::memory_order_relaxed);
                if (f.completion) {
                    f.completion->set_value(static_cast<std::size_t>(reply->integer));
                }
            } else {
                publish_errors_.fetch_add(1, std::memory_order_relaxed);
                const std::string text(reply_text(reply.get()));
                record_error("PUBLISH failed: " + text);
                fail_completion(f.completion, herald::redis::DropCause::server_error, text);
            }
        }
    }

    bool read_subscriber(Heartbeat& beat, bool& ready, std::string& error) {
        while (!inbound_.full()) {
            Reply reply;
            try {
                reply = sub_.next_reply();
            } catch (const std::exception& e) {
                error = e.what();
                return false;
            }
            if (!reply) {
                return true;
            }
            const redisReply* r = reply.get();
            if (r->type == REDIS_REPLY_STATUS) { // +PONG outside subscribed mode
                ready = true;
                beat = {false, Clock::now()};
                continue;
            }
            if (r->type == REDIS_REPLY_ERROR) {
                error = "the server refused a subscriber command: " + std::string(reply_text(r));
                return false;
            }
            if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
                r->element[0]->type != REDIS_REPLY_STRING) {
                error = "unexpected reply on the subscriber connection";
                return false;
            }
            const std::string_view kind = reply_text(r->element[0]);
            if (kind == "message" && r->elements == 3) {
                received_.fetch_add(1, std::memory_order_relaxed);
                push_inbound(InboundMessage{false, std::move(reply)});
            } else if (kind == "pmessage" && r->elements == 4) {
                received_.fetch_add(1, std::memory_order_relaxed);
                push_inbound(InboundMessage{true, std::move(reply)});
            } else if (kind == "subscribe" || kind == "unsubscribe" || kind == "psubscribe" ||
                       kind == "punsubscribe") {
                if (sub_acks_pending_ > 0 && --sub_acks_pending_ == 0) {
                    confirmed_generation_.store(batch_generation_, std::memory_order_release);
                }
            } else if (kind == "pong") {
                ready = true;
                beat = {false, Clock::now()};
            } else {
                error = "unexpected '" + std::string(kind) + "' on the subscriber connection";
                return false;
            }
        }
        return true;
    }

    void push_inbound(InboundMessage message) {
        if (inbound_.push(std::move(message)) >= inbound_.capacity()) {
            paused_.store(true, std::memory_order_relaxed);
            reader_pauses_.fetch_add(1, std::memory_order_relaxed);
        }
    }

    /// Brings the upstream subscriptions to the local interest: one SUBSCRIBE and one
    /// PSUBSCRIBE (and UNSUBSCRIBE/PUNSUBSCRIBE for what went) per change, pipelined.
    void reconcile() {
        const std::uint64_t generation = generation_.load(std::memory_order_acquire);
        if (generation == seen_generation_) {
            return;
        }
        StringSet channels;
        StringSet patterns;
        {
            std::lock_guard lock(interest_mutex_);
            for (const auto& [name, codec] : wanted_channels_) {
                channels.insert(options_.prefix + name);
            }
            for (std::size_t i = 0; i < selectors_.size(); ++i) {
                if (wanted_selectors_[i]) {
                    patterns.insert(selectors_[i].upstream);
                }
            }
        }
        std::size_t commands = 0;
        commands += sync_set(upstream_channels_, channels, "SUBSCRIBE", "UNSUBSCRIBE");
        commands += sync_set(upstream_patterns_, patterns, "PSUBSCRIBE", "PUNSUBSCRIBE");
        upstream_channel_count_.store(upstream_channels_.size(), std::memory_order_relaxed);
        upstream_pattern_count_.store(upstream_patterns_.size(), std::memory_order_relaxed);
        seen_generation_ = generation;
        batch_generation_ = generation;
        sub_acks_pending_ += commands;
        if (sub_acks_pending_ == 0) {
            confirmed_generation_.store(generation, std::memory_order_release);
        }
    }

    /// Queues the commands that turn `current` into `wanted`; returns the replies to expect.
    std::size_t sync_set(StringSet& current, const StringSet& wanted, std::string_view add,
                         std::string_view remove) {
        std::vector<std::string_view> added{add};
        for (const std::string& w : wanted) {
            if (current.find(w) == current.end()) {
                added.push_back(w);
            }
        }
        std::vector<std::string> removed;
        for (const std::string& c : current) {
            if (wanted.find(c) == wanted.end()) {
                removed.push_back(c);
            }
        }
        std::size_t replies = 0;
        if (added.size() > 1) {
            sub_.queue(format_command(added));
            replies += added.size() - 1;
            for (std::size_t i = 1; i < added.size(); ++i) {
                current.insert(std::string(added[i]));
            }
        }
        if (!removed.empty()) { // never an UNSUBSCRIBE without arguments
            std::vector<std::string_view> args{remove};
            args.insert(args.end(), removed.begin(), removed.end());
            sub_.queue(format_command(args));
            replies += removed.size();
            for (const std::string& r : removed) {
                current.erase(r);
            }
        }
        return replies;
    }

    /// Publishes of local-interest generations up to this one may be written. While reading
    /// is paused (a slow local consumer) subscription replies cannot be read: publishes are
    /// then not held back for them, so a slow consumer does not stop this process publishing.
    std::uint64_t writable_generation() const noexcept {
        return paused_.load(std::memory_order_relaxed)
                   ? ~std::uint64_t{0}
                   : confirmed_generation_.load(std::memory_order_relaxed);
    }

    void write_outbox(std::vector<OutboxEntry>& batch) {
        const std::uint64_t confirmed = writable_generation();
        while (in_flight_.size() < max_in_flight && pub_.pending_output() < (4u << 20)) {
            batch.clear();
            outbox_.take(confirmed, std::min<std::size_t>(256, max_in_flight - in_flight_.size()),
                         batch);
            if (batch.empty()) {
                break;
            }
            for (OutboxEntry& e : batch) {
                pub_.queue(e.command);
                in_flight_.push_back(InFlight{false, std::move(e.completion)});
                in_flight_count_.fetch_add(1, std::memory_order_release);
            }
        }
    }

    // ---- delivery thread ---------------------------------------------------------------------

    void deliver_loop() {
        std::deque<InboundMessage> taken;
        while (inbound_.pop_all(taken)) {
            for (InboundMessage& m : taken) {
                if (stopping()) {
                    return; // the rest is discarded; stop() counts what remains
                }
                deliver_one(m);
                inbound_.handled();
                if (paused_.load(std::memory_order_relaxed) &&
                    inbound_.size() <= inbound_.capacity() / 2) {
                    waker_.wake();
                }
            }
        }
    }

    /// Routes one received message to the local subscribers it was received for.
    void deliver_one(const InboundMessage& m) {
        std::vector<const PatternSelector*>& targets = targets_;
        {
            const std::string_view upstream = m.channel();
            if (upstream.substr(0, options_.prefix.size()) != options_.prefix) {
                dropped_unrouted_.fetch_add(1, std::memory_order_relaxed);
                return;
            }
            const std::string_view local = upstream.substr(options_.prefix.size());
            std::string_view payload = m.payload();
            if (tagged() && !accept_tagged(local, payload)) {
                return;
            }
            if (!m.pmessage) {
                const CodecEntry* codec = nullptr;
                {
                    std::lock_guard lock(interest_mutex_);
                    if (auto it = wanted_channels_.find(local); it != wanted_channels_.end()) {
                        codec = it->second;
                    }
                }
                if (codec == nullptr) {
                    dropped_unrouted_.fetch_add(1, std::memory_order_relaxed);
                    return;
                }
                deliver(*codec, local, nullptr, payload);
                return;
            }
            targets.clear();
            bool wanted = false;
            {
                std::lock_guard lock(interest_mutex_);
                for (std::size_t i = 0; i < selectors_.size(); ++i) {
                    const PatternSelector& s = selectors_[i];
                    if (wanted_selectors_[i] && s.upstream == m.pattern()) {
                        wanted = true;
                        if (!s.refilter || s.pattern.matches(local)) {
                            targets.push_back(&s);
                        }
                    }
                }
            }
            if (!wanted) {
                dropped_unrouted_.fetch_add(1, std::memory_order_relaxed);
                return;
            }
            for (const PatternSelector* s : targets) { // none: the glob matched more
                if (s->codec != nullptr) {
                    deliver(*s->codec, local, &s->pattern, payload);
                }
            }
        }
    }

    /// Tagged format: false for this process's own echo (dropped); counts gaps in other
    /// origins' sequences per channel; `payload` loses its header.
    bool accept_tagged(std::string_view channel, std::string_view& payload) {
        const std::optional<Tag> tag = parse_tag(payload);
        if (!tag) {
            untagged_received_.fetch_add(1, std::memory_order_relaxed);
            return true;
        }
        if (tag->origin == origin_) {
            echoes_dropped_.fetch_add(1, std::memory_order_relaxed);
            return false;
        }
        std::string key = tag_header(tag->origin, 0).substr(4, 8);
        key.append(channel);
        if (last_sequence_.size() > 65536) {
            last_sequence_.clear(); // bounded memory; the next message per key is a new start
        }
        auto [it, first] = last_sequence_.try_emplace(std::move(key), tag->sequence);
        if (!first) {
            if (tag->sequence > it->second + 1) {
                sequence_gaps_.fetch_add(tag->sequence - it->second - 1, std::memory_order_relaxed);
            }
            it->second = std::max(it->second, tag->sequence);
        }
        payload = tag->payload;
        return true;
    }

    void deliver(const CodecEntry& codec, std::string_view channel, const Pattern* pattern,
                 std::string_view bytes) {
        try {
            codec.decode_deliver(*broker_, channel, pattern, bytes);
            delivered_.fetch_add(1, std::memory_order_relaxed);
        } catch (const herald::redis::decode_error&) {
            decode_failed(channel, pattern, bytes, std::current_exception());
        } catch (...) {
            // A handler's exception under ExceptionPolicy::rethrow_after, or a channel bound to
            // another payload type locally: the broker has counted and reported it already.
            delivered_.fetch_add(1, std::memory_order_relaxed);
        }
    }

    void decode_failed(std::string_view channel, const Pattern* pattern, std::string_view bytes,
                       std::exception_ptr error) noexcept {
        decode_errors_.fetch_add(1, std::memory_order_relaxed);
        const std::string_view pattern_text =
            pattern != nullptr ? std::string_view(pattern->text()) : std::string_view();
        broker_->report_error(
            ErrorInfo{ErrorKind::decode_failure, channel, pattern_text, 0, error});
        const std::string& dead = broker_->options().dead_letter_channel;
        if (!dead.empty()) {
            try {
                DeadLetter letter{std::string(channel), std::string(pattern_text), 0, error,
                                  std::any(std::string(bytes))};
                broker_->publish_local<DeadLetter>(dead, letter, &letter);
            } catch (...) {
                // counted and reported above
            }
        }
    }

    std::shared_ptr<LocalBroker> broker_;
    const herald::redis::Options options_;
    const CodecTable codecs_;
    StringSet exact_;
    std::vector<PatternSelector> selectors_;

    // local interest (hooks write, I/O and delivery threads read)
    mutable std::mutex interest_mutex_;
    std::unordered_map<std::string, const CodecEntry*, StringHash, std::equal_to<>>
        wanted_channels_;
    std::vector<bool> wanted_selectors_;
    std::atomic<std::uint64_t> generation_{0};

    Outbox outbox_;
    Inbound inbound_;
    Waker waker_;
    std::atomic<bool> idle_{false};
    std::atomic<bool> paused_{false};
    std::atomic<bool> stopping_{false};
    std::atomic<herald::redis::LinkState> state_{herald::redis::LinkState::connecting};
    std::mutex stop_mutex_;
    bool hooked_ = false;

    // I/O thread only
    Connection pub_;
    Connection sub_;
    std::deque<InFlight> in_flight_;
    StringSet upstream_channels_;
    StringSet upstream_patterns_;
    std::size_t sub_acks_pending_ = 0;
    std::uint64_t seen_generation_ = ~std::uint64_t{0};
    std::uint64_t batch_generation_ = 0;
    std::mt19937_64 random_;
    std::atomic<std::uint64_t> confirmed_generation_{0};
    std::atomic<std::size_t> in_flight_count_{0};

    mutable std::mutex error_mutex_;
    std::string last_error_;

    std::atomic<std::uint64_t> reconnects_{0}, link_failures_{0}, connect_failures_{0};
    std::atomic<std::size_t> upstream_channel_count_{0}, upstream_pattern_count_{0};
    std::atomic<std::uint64_t> sent_{0}, received_{0}, delivered_{0}, reader_pauses_{0};
    std::atomic<std::uint64_t> dropped_in_flight_{0}, dropped_shutdown_{0}, dropped_unrouted_{0};
    std::atomic<std::uint64_t> publish_errors_{0}, decode_errors_{0}, codec_errors_{0};
    std::atomic<std::uint64_t> unroutable_{0}, heartbeat_timeouts_{0};
    std::atomic<std::uint64_t> server_disconnects_{0}, slow_consumer_disconnects_{0};

    std::vector<const PatternSelector*> targets_; // delivery thread only
    // tagged wire format
    std::uint64_t origin_ = 0;
    std::mutex sequence_mutex_;
    std::unordered_map<std::string, std::uint64_t, StringHash, std::equal_to<>> next_sequence_;
    std::unordered_map<std::string, std::uint64_t> last_sequence_; // delivery thread only
    std::atomic<std::uint64_t> echoes_dropped_{0}, sequence_gaps_{0}, untagged_received_{0};
    std::thread delivery_thread_;
    std::thread io_thread_;
};

} // namespace detail::redis
HERALD_NAMESPACE_END
