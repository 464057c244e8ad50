// libFuzzer target: a byte stream decoded into operations on a single_threaded broker
// (subscribe, psubscribe with glob, NATS and MQTT patterns, unsubscribe, handle destruction,
// publish, polling a queued subscription, introspection), each checked against a naive
// reference model: a list of (channel or pattern, alive) entries, a publish reaching every
// alive entry whose channel equals the subject or whose pattern matches it by glob_match /
// Pattern::matches.
//
// Checked after every operation: each publish's receiver count; every handler's received
// messages (payload, channel, kind, pattern) in order; NUMSUB, NUMPAT and CHANNELS; stats
// (delivered, dropped, queued). Handlers also act on the broker from inside a dispatch in ways
// whose outcome does not depend on the order of handlers: ending their own subscription at the
// first call, and subscribing a new one (which must not receive the message in flight).
//
// Input layout: a sequence of operations, each an opcode byte followed by its operands; a name
// is a length byte (the high bit selects raw bytes over a small alphabet of separator and
// wildcard characters, which makes matches likely) followed by that many bytes.

#include <herald/herald.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

[[noreturn]] void fail(const char* what, std::string_view detail = {}) {
    std::fprintf(stderr, "broker_ops: %s [%.*s]\n", what, static_cast<int>(detail.size()),
                 detail.data());
    __builtin_trap();
}

void expect(bool condition, const char* what, std::string_view detail = {}) {
    if (!condition) {
        fail(what, detail);
    }
}

using Broker = herald::Broker<std::string, herald::single_threaded>;

enum class Behaviour : std::uint8_t {
    plain,    ///< records what it receives
    one_shot, ///< ends its own subscription at its first call
    spawner,  ///< at its first call subscribes a plain entry to the message's channel
    queued,   ///< drop_newest queue on Executor::polled(), emptied by the poll operation
};

struct Received {
    std::string channel;
    std::string payload;
    herald::MessageKind kind;
    std::string pattern;
    friend bool operator==(const Received&, const Received&) = default;
};

struct Entry {
    // What the model knows.
    bool exact = true;
    std::string channel;                    // exact entries
    std::optional<herald::Pattern> pattern; // pattern entries
    Behaviour behaviour = Behaviour::plain;
    std::size_t capacity = 0; // queued entries
    bool alive = true;
    bool fired = false;             // one_shot, spawner: the first call happened
    std::vector<Received> expected; // what the handler must have received so far
    std::vector<Received> queue;    // queued entries: accepted, not yet polled
    std::uint64_t dropped = 0;      // queued entries: refused by the full queue
    std::uint64_t discarded = 0;    // queued entries: still queued when it ended
    // What really happened.
    std::vector<Received> received;
    herald::Subscription handle;
    bool handle_gone = false; // destroyed: nothing more to ask it

    bool matches(std::string_view subject) const {
        if (exact) {
            return subject == channel;
        }
        if (pattern->kind() == herald::PatternKind::glob) {
            return herald::glob_match(pattern->text(), subject);
        }
        return pattern->matches(subject);
    }
};

class Harness {
public:
    Harness(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

    void run() {
        while (pos_ < size_) {
            const std::uint8_t op = byte();
            switch (op % 12) {
            case 0:
            case 1:
                subscribe_exact(behaviour_for(byte()));
                break;
            case 2:
                psubscribe(herald::PatternKind::glob, behaviour_for(byte()));
                break;
            case 3:
                psubscribe(herald::PatternKind::nats, behaviour_for(byte()));
                break;
            case 4:
                psubscribe(herald::PatternKind::mqtt, behaviour_for(byte()));
                break;
            case 5:
                end(byte(), false);
                break;
            case 6:
                end(byte(), true);
                break;
            case 7:
                poll(byte());
                break;
            default:
                publish(name());
                break;
            }
            check_all();
        }
        // Ending the broker ends everything; no handler may run any more afterwards.
        broker_.shutdown();
        for (Entry& e : entries_) {
            if (!e.handle_gone) {
                expect(!e.handle.active(), "a handle is active after shutdown");
            }
        }
    }

private:
    std::uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }

    std::string name() {
        const std::uint8_t header = byte();
        const std::size_t length = header & 0x0f;
        std::string out;
        for (std::size_t i = 0; i < length && pos_ < size_; ++i) {
            const std::uint8_t b = byte();
            if ((header & 0x80) != 0) {
                out.push_back(static_cast<char>(b));
            } else {
                static constexpr char alphabet[] = {'a', 'b', 'c', '.', '/', ':',  '*', '>',
                                                    '+', '#', '?', '[', ']', '\\', '$', '^'};
                out.push_back(alphabet[b % sizeof alphabet]);
            }
        }
        return out;
    }

    static Behaviour behaviour_for(std::uint8_t b) {
        switch (b % 8) {
        case 5:
            return Behaviour::one_shot;
        case 6:
            return Behaviour::spawner;
        case 7:
            return Behaviour::queued;
        default:
            return Behaviour::plain;
        }
    }

    bool full() const { return entries_.size() >= 48; }

    /// The handler of an entry: a named type, so that a handler can make another one.
    struct Handler {
        Harness* harness;
        Entry* entry;
        void operator()(const herald::Message<std::string>& m) const {
            harness->on_message(*entry, m);
        }
    };

    /// Records the message; one_shot and spawner entries act on the broker at their first call.
    void on_message(Entry& e, const herald::Message<std::string>& m) {
        e.received.push_back({std::string(m.channel), m.payload, m.kind, std::string(m.pattern)});
        if (e.fired) {
            return;
        }
        if (e.behaviour == Behaviour::one_shot) {
            e.fired = true;
            e.handle.unsubscribe(); // from inside its own handler: returns at once
            expect(!e.handle.active(), "one_shot still active after unsubscribe");
        } else if (e.behaviour == Behaviour::spawner) {
            e.fired = true;
            // Subscribed during the dispatch: must not receive the message in flight.
            Entry& child = entries_.emplace_back();
            child.channel = std::string(m.channel);
            child.handle = broker_.subscribe(child.channel, Handler{this, &child});
        }
    }

    void attach(Entry& e) {
        if (e.behaviour == Behaviour::queued) {
            herald::queued q;
            q.capacity = e.capacity;
            q.executor = herald::Executor::polled();
            e.handle = e.exact ? broker_.subscribe(e.channel, Handler{this, &e}, q)
                               : broker_.psubscribe(*e.pattern, Handler{this, &e}, q);
        } else {
            e.handle = e.exact ? broker_.subscribe(e.channel, Handler{this, &e})
                               : broker_.psubscribe(*e.pattern, Handler{this, &e});
        }
    }

    void subscribe_exact(Behaviour behaviour) {
        std::string channel = name();
        const std::size_t capacity = 1 + byte() % 3;
        if (full()) {
            return;
        }
        Entry& e = entries_.emplace_back();
        e.channel = std::move(channel);
        e.behaviour = behaviour;
        e.capacity = capacity;
        attach(e);
    }

    void psubscribe(herald::PatternKind kind, Behaviour behaviour) {
        const std::string text = name();
        const std::size_t capacity = 1 + byte() % 3;
        if (full()) {
            return;
        }
        std::optional<herald::Pattern> pattern;
        const std::size_t patterns_before = broker_.numpat();
        try {
            pattern = kind == herald::PatternKind::glob   ? herald::glob_pattern(text)
                      : kind == herald::PatternKind::nats ? herald::nats_pattern(text)
                                                          : herald::mqtt_pattern(text);
        } catch (const herald::pattern_error& e) {
            expect(kind != herald::PatternKind::glob, "a glob was rejected", text);
            expect(e.pattern() == text && e.position() <= text.size(), "bad pattern_error", text);
            expect(broker_.numpat() == patterns_before, "a rejected pattern changed NUMPAT");
            return;
        }
        Entry& e = entries_.emplace_back();
        e.exact = false;
        e.pattern = std::move(pattern);
        e.behaviour = behaviour;
        e.capacity = capacity;
        attach(e);
    }

    Entry* pick(std::uint8_t b) {
        if (entries_.empty()) {
            return nullptr;
        }
        return &entries_[b % entries_.size()];
    }

    void end(std::uint8_t which, bool destroy) {
        Entry* e = pick(which);
        if (e == nullptr || e->handle_gone) {
            return;
        }
        if (destroy) {
            e->handle = herald::Subscription{};
            e->handle_gone = true;
        } else {
            const herald::SubscriptionStats st = e->handle.unsubscribe();
            expect(!st.active, "unsubscribe returned active stats");
        }
        if (e->alive) {
            e->alive = false;
            e->discarded += e->queue.size();
            e->queue.clear();
        }
    }

    void poll(std::uint8_t which) {
        Entry* e = pick(which);
        if (e == nullptr || e->handle_gone) {
            return;
        }
        const std::size_t ran = e->handle.poll();
        if (e->behaviour != Behaviour::queued || !e->alive) {
            expect(ran == 0, "poll ran handlers of a non-queued or ended subscription");
            return;
        }
        expect(ran == e->queue.size(), "poll ran a different number of messages");
        for (Received& r : e->queue) {
            e->expected.push_back(std::move(r));
        }
        e->queue.clear();
    }

    void publish(const std::string& channel) {
        const std::string payload = "m" + std::to_string(next_payload_++);
        // The model: every entry alive when the publish starts and matching the channel.
        // Entries added during the publish (spawned) are not in this snapshot.
        std::size_t expected_receivers = 0;
        const std::size_t snapshot = entries_.size();
        for (std::size_t i = 0; i < snapshot; ++i) {
            Entry& e = entries_[i];
            if (!e.alive || !e.matches(channel)) {
                continue;
            }
            Received r{channel, payload,
                       e.exact ? herald::MessageKind::message : herald::MessageKind::pmessage,
                       e.exact ? std::string() : e.pattern->text()};
            if (e.behaviour == Behaviour::queued) {
                if (e.queue.size() < e.capacity) {
                    e.queue.push_back(std::move(r));
                    ++expected_receivers;
                } else {
                    ++e.dropped;
                }
                continue;
            }
            e.expected.push_back(std::move(r));
            ++expected_receivers;
            if (e.behaviour == Behaviour::one_shot) {
                e.alive = false; // it ends itself during this very call
            }
        }
        const std::size_t receivers = broker_.publish(channel, payload);
        expect(receivers == expected_receivers, "publish returned the wrong receiver count",
               channel);
    }

    void check_all() {
        std::vector<std::string> exact_channels;
        std::vector<herald::Pattern> patterns;
        std::size_t live = 0;
        for (Entry& e : entries_) {
            expect(e.received == e.expected, "a handler received something else",
                   e.exact ? std::string_view(e.channel) : std::string_view(e.pattern->text()));
            if (e.alive) {
                ++live;
                if (e.exact) {
                    exact_channels.push_back(e.channel);
                } else if (std::find(patterns.begin(), patterns.end(), *e.pattern) ==
                           patterns.end()) {
                    patterns.push_back(*e.pattern);
                }
            }
            if (e.handle_gone) {
                continue;
            }
            expect(e.handle.active() == e.alive, "active() disagrees with the model");
            const herald::SubscriptionStats st = e.handle.stats();
            if (e.behaviour == Behaviour::queued) {
                expect(st.queued == e.queue.size(), "queued count");
                expect(st.drops.newest == e.dropped, "drop count");
                expect(st.drops.discarded == e.discarded, "discard count");
                expect(st.delivered == e.expected.size(), "queued delivered count");
            } else {
                expect(st.delivered == e.expected.size(), "delivered count");
            }
        }
        expect(broker_.stats().subscriptions == live, "live subscription count");
        expect(broker_.numpat() == patterns.size(), "NUMPAT");
        std::sort(exact_channels.begin(), exact_channels.end());
        for (const std::string& c : exact_channels) {
            const auto n = static_cast<std::size_t>(
                std::count(exact_channels.begin(), exact_channels.end(), c));
            expect(broker_.numsub(c) == n, "NUMSUB", c);
        }
        exact_channels.erase(std::unique(exact_channels.begin(), exact_channels.end()),
                             exact_channels.end());
        expect(broker_.channels() == exact_channels, "CHANNELS");
    }

    const std::uint8_t* data_;
    std::size_t size_;
    std::size_t pos_ = 0;
    std::uint64_t next_payload_ = 0;
    Broker broker_;
    std::deque<Entry> entries_; // stable addresses: handlers point at their entry
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Harness(data, size).run();
    return 0;
}
