// Bad input: invalid token patterns, huge and binary channel names, a million channels,
// move-only payloads. Each gives a clear error or works, and loses nothing.
#include <herald/herald.hpp>

#include "test_catch.hpp"
#include "test_helpers.hpp"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

using namespace std::string_literals;

namespace {

struct InvalidPattern {
    herald::PatternKind kind;
    std::string text;
    std::size_t position;
};

herald::Pattern make(herald::PatternKind kind, std::string_view text) {
    return kind == herald::PatternKind::nats ? herald::nats_pattern(text)
                                             : herald::mqtt_pattern(text);
}

} // namespace

// ---- invalid token patterns
// ----------------------------------------------------------------------

TEST_CASE("bad input: invalid token patterns throw pattern_error naming the pattern and the "
          "position, and nothing is subscribed",
          "[regression][bad-input][patterns]") {
    using K = herald::PatternKind;
    const std::vector<InvalidPattern> cases{
        {K::nats, "a.>.b", 2}, {K::nats, ">.a", 0},   {K::nats, "a.*.>.c", 4},
        {K::nats, "", 0},      {K::nats, "a..b", 2},  {K::nats, ".a", 0},
        {K::nats, "a.", 2},    {K::nats, "a.b.", 4},  {K::mqtt, "a/#/b", 2},
        {K::mqtt, "a+", 1},    {K::mqtt, "+a", 0},    {K::mqtt, "a/b+/c", 3},
        {K::mqtt, "a#", 1},    {K::mqtt, "#/a", 0},   {K::mqtt, "a/b#", 3},
        {K::mqtt, "", 0},      {K::mqtt, "a\0b"s, 1}, {K::mqtt, "sport/#/#", 6},
    };
    herald::Broker broker;
    for (const auto& c : cases) {
        CAPTURE(c.text, c.position);
        try {
            auto s = broker.psubscribe(make(c.kind, c.text), [](const std::string&) {});
            FAIL("accepted an invalid pattern");
        } catch (const herald::pattern_error& e) {
            CHECK(e.pattern() == c.text);
            CHECK(e.position() == c.position);
            CHECK(e.kind() == c.kind);
            const std::string what = e.what();
            CHECK(what.find("position " + std::to_string(c.position)) != std::string::npos);
            if (c.text.find('\0') == std::string::npos) {
                CHECK(what.find('"' + c.text + '"') != std::string::npos);
            } else {
                CHECK(what.find("\\x00") != std::string::npos); // shown, not cut at the NUL
            }
            CHECK(what.find(c.kind == K::nats ? "NATS" : "MQTT") != std::string::npos);
        }
        // The matchers reject the same patterns with the same error.
        if (c.kind == K::nats) {
            CHECK_THROWS_AS(herald::nats_match(c.text, "a.b"), herald::pattern_error);
        } else {
            CHECK_THROWS_AS(herald::mqtt_match(c.text, "a/b"), herald::pattern_error);
        }
    }
    CHECK_THROWS_AS(herald::nats_pattern("a*b", '*'), herald::pattern_error); // the separator
    CHECK(broker.numpat() == 0);
    CHECK(broker.stats().subscriptions == 0);
    // Globs are never invalid: Redis accepts every byte string as a pattern.
    auto glob = broker.psubscribe("a.>.b[", [](const std::string&) {});
    CHECK(broker.numpat() == 1);
}

TEST_CASE("bad input: the error for a 1 MiB invalid pattern stays short and exact",
          "[regression][bad-input][patterns]") {
    std::string text;
    while (text.size() < (1u << 20)) {
        text += "token.";
    }
    const std::size_t bad = text.size();
    text += ">.tail";
    try {
        (void)herald::nats_pattern(text);
        FAIL("accepted");
    } catch (const herald::pattern_error& e) {
        CHECK(e.position() == bad);
        CHECK(e.pattern() == text);
        const std::string what = e.what();
        CHECK(what.size() < 512); // the pattern is cut in the message, not in pattern()
        CHECK(what.find("position " + std::to_string(bad)) != std::string::npos);
        CHECK(what.find(std::to_string(text.size()) + " bytes") != std::string::npos);
    }
}

// ---- huge and binary channel names
// -----------------------------------------------------------------

TEST_CASE("bad input: 1 MiB channel names work for exact, pattern and queued subscriptions",
          "[regression][bad-input]") {
    herald::Broker broker;
    const std::string name(1u << 20, 'x');
    std::string neighbour = name;
    neighbour.back() = 'y'; // differs only in its last byte
    std::size_t exact_calls = 0, glob_calls = 0, nats_calls = 0;
    auto exact = broker.subscribe(name, [&](const herald::Message<std::string>& m) {
        CHECK(m.channel == name);
        ++exact_calls;
    });
    auto glob = broker.psubscribe("x*x", [&](const herald::Message<std::string>& m) {
        CHECK(m.channel.size() == name.size());
        ++glob_calls;
    });
    auto nats = broker.psubscribe(herald::nats_pattern("*"), [&](const std::string&) {
        ++nats_calls; // a 1 MiB subject is one token
    });
    herald::queued q;
    q.executor = herald::Executor::polled();
    q.overflow = herald::Overflow::conflate; // keyed by the 1 MiB channel name
    std::vector<std::string> queued_channels;
    auto queued = broker.subscribe(
        name,
        [&](const herald::Message<std::string>& m) { queued_channels.emplace_back(m.channel); }, q);
    CHECK(broker.publish(name, "one") == 4);
    CHECK(broker.publish(name, "two") == 4);
    CHECK(broker.publish(neighbour, "other") == 1); // the NATS pattern only
    CHECK(exact_calls == 2);
    CHECK(glob_calls == 2);
    CHECK(nats_calls == 3);
    CHECK(queued.poll() == 1); // conflated to the latest
    REQUIRE(queued_channels.size() == 1);
    CHECK(queued_channels[0] == name);
    CHECK(broker.numsub(name) == 2);
    CHECK(broker.numsub(neighbour) == 0);
    CHECK(broker.channels() == std::vector<std::string>{name});
    CHECK(broker.channels("x*") == std::vector<std::string>{name});
    exact.unsubscribe();
    queued.unsubscribe();
    CHECK(broker.numsub(name) == 0);
    CHECK(broker.channels().empty());
}

TEST_CASE("bad input: channel names with NUL bytes and invalid UTF-8 are distinct, exact, and "
          "matched byte for byte",
          "[regression][bad-input]") {
    herald::Broker broker;
    const std::vector<std::string> names{
        "\0"s,              // a lone NUL byte
        "a\0b"s,            // NUL inside
        "a\0c"s,            // differs from the previous one after the NUL only
        "\xff",             // never valid in UTF-8
        "\xc3\x28",         // a lead byte followed by no continuation byte
        "\xc0\xaf",         // an overlong encoding of '/'
        "\xed\xa0\x80",     // a UTF-16 surrogate
        "\xf4\x90\x80\x80", // beyond U+10FFFF
        "\x80"
        "abc",         // a continuation byte first
        "caf\xc3\xa9", // valid UTF-8, for contrast
    };
    std::vector<std::size_t> exact_calls(names.size(), 0);
    std::vector<herald::Subscription> subs;
    for (std::size_t i = 0; i < names.size(); ++i) {
        subs.push_back(broker.subscribe(
            names[i], [&exact_calls, i](const std::string&) { ++exact_calls[i]; }));
    }
    std::vector<std::string> any_glob, mqtt_all, nats_all, nul_glob;
    subs.push_back(broker.psubscribe(
        "*", [&](const herald::Message<std::string>& m) { any_glob.emplace_back(m.channel); }));
    subs.push_back(broker.psubscribe(
        "a\0*"s, [&](const herald::Message<std::string>& m) { nul_glob.emplace_back(m.channel); }));
    subs.push_back(
        broker.psubscribe(herald::mqtt_pattern("#"), [&](const herald::Message<std::string>& m) {
            mqtt_all.emplace_back(m.channel);
        }));
    subs.push_back(
        broker.psubscribe(herald::nats_pattern(">"), [&](const herald::Message<std::string>& m) {
            nats_all.emplace_back(m.channel);
        }));
    std::size_t nul_names = 0;
    for (const auto& n : names) {
        const bool has_nul = n.find('\0') != std::string::npos;
        nul_names += has_nul ? 1U : 0U;
        // exact + glob "*" + NATS ">" (no '.' in these names) + MQTT "#" unless a NUL byte
        // (an MQTT topic cannot hold one) + "a\0*" for the two names starting with it.
        const std::size_t expected = 3 + (has_nul ? 0U : 1U) + (n.rfind("a\0"s, 0) == 0 ? 1U : 0U);
        CAPTURE(n);
        CHECK(broker.publish(n, "payload") == expected);
    }
    for (std::size_t i = 0; i < names.size(); ++i) {
        CHECK(exact_calls[i] == 1);
    }
    CHECK(any_glob == names);
    CHECK(nats_all == names);
    CHECK(mqtt_all.size() == names.size() - nul_names);
    CHECK(nul_glob == std::vector<std::string>{"a\0b"s, "a\0c"s});
    // PUBSUB CHANNELS returns them byte for byte, sorted as bytes.
    auto sorted = names;
    std::sort(sorted.begin(), sorted.end());
    CHECK(broker.channels() == sorted);
    CHECK(broker.numsub("a\0b"s) == 1);
    CHECK(broker.numsub("a"s) == 0);
    // Invalid UTF-8 in patterns is just bytes too.
    auto high = broker.psubscribe("\xff*", [](const std::string&) {});
    CHECK(broker.publish("\xff"
                         "tail",
                         "x") == 4); // "\xff*", "*", NATS ">" and MQTT "#"
}

TEST_CASE("bad input: a million distinct channels subscribe, publish and unsubscribe, and the "
          "memory returns",
          "[regression][bad-input][memory]") {
    constexpr std::size_t count = 1000000;
    herald::Broker broker;
    std::vector<herald::Subscription> subs;
    subs.reserve(count);
    std::vector<std::uint8_t> calls(count, 0);
    // A first channel through the broker, so the thread's record and buffers exist already.
    {
        auto warm = broker.subscribe("warm", [](const std::string&) {});
    }
    const std::size_t baseline = herald_test::live_heap_bytes();
    for (std::size_t i = 0; i < count; ++i) {
        subs.push_back(broker.subscribe("channel:" + std::to_string(i),
                                        [&calls, i](const std::string&) { ++calls[i]; }));
    }
    CHECK(broker.stats().channels == count);
    CHECK(broker.stats().subscriptions == count);
    std::size_t receivers = 0;
    for (std::size_t i = 0; i < count; ++i) {
        receivers += broker.publish("channel:" + std::to_string(i), "x");
    }
    CHECK(receivers == count);
    CHECK(std::count(calls.begin(), calls.end(), std::uint8_t{1}) ==
          static_cast<std::ptrdiff_t>(count));
    CHECK(broker.numsub("channel:999999") == 1);
    subs.clear(); // every handle unsubscribes
    CHECK(broker.stats().channels == 0);
    CHECK(broker.stats().subscriptions == 0);
    CHECK(broker.channels().empty());
    CHECK(broker.publish("channel:0", "x") == 0);
    // Everything the million channels used is given back: what stays is bounded by the broker's
    // small caches (a few idle channels, a batch of retired objects), not by the peak.
    const std::size_t after = herald_test::live_heap_bytes();
    INFO("live heap bytes: " << baseline << " before, " << after << " after");
    CHECK(after <= baseline + 1024 * 1024);
}

// ---- move-only payloads
// ------------------------------------------------------------------------------

TEST_CASE("bad input: a move-only payload published as an rvalue reaches inline, pattern, "
          "queued and mailbox subscribers",
          "[regression][bad-input]") {
    herald::Broker broker;
    const herald::Topic<std::unique_ptr<int>> topic{"owned"};
    std::vector<const int*> inline_seen;
    int queued_sum = 0, pattern_sum = 0;
    auto a = broker.subscribe(
        topic, [&](const std::unique_ptr<int>& p) { inline_seen.push_back(p.get()); });
    auto b = broker.subscribe(topic, [&](const herald::Message<std::unique_ptr<int>>& m) {
        inline_seen.push_back(m.payload.get());
    });
    auto c = broker.psubscribe<std::unique_ptr<int>>(
        "own*", [&](const std::unique_ptr<int>& p) { pattern_sum += *p; });
    herald::queued q;
    q.executor = herald::Executor::polled();
    auto d = broker.subscribe(
        topic, [&](const std::unique_ptr<int>& p) { queued_sum += *p; }, q);
    auto box = broker.subscribe(topic, herald::queued{});
    std::atomic<int> worker_sum{0};
    auto workers = broker.subscribe(
        topic, [&](const std::unique_ptr<int>& p) { worker_sum += *p; }, herald::queued{});

    auto payload = std::make_unique<int>(7);
    const int* address = payload.get();
    CHECK(broker.publish(topic, std::move(payload)) == 6);
    // One object, moved at most once (into the node the queues share), never copied.
    REQUIRE(inline_seen.size() == 2);
    CHECK(inline_seen[0] == address);
    CHECK(inline_seen[1] == address);
    CHECK(pattern_sum == 7);
    CHECK(d.poll() == 1);
    CHECK(queued_sum == 7);
    auto m = box.try_receive();
    REQUIRE(m.has_value());
    CHECK(*m->payload == 7);
    CHECK(m->payload.get() == address);

    // The Publisher and a broker whose string channels carry a move-only payload.
    auto publisher = broker.publisher(topic);
    CHECK(publisher.publish(std::make_unique<int>(1)) == 6);
    herald::Broker<std::unique_ptr<int>> owning;
    int got = 0;
    auto e = owning.subscribe(
        "c", [&](const std::unique_ptr<int>& p) { got = *p; }, q);
    CHECK(owning.publish("c", std::make_unique<int>(3)) == 1);
    CHECK(e.poll() == 1);
    CHECK(got == 3);
    broker.shutdown(); // drains the workers' queue
    CHECK(worker_sum.load() == 8);
}

TEST_CASE("bad input: a throwing handler of a move-only payload sends a dead letter without "
          "a payload copy",
          "[regression][bad-input][errors]") {
    herald::BrokerOptions options;
    options.dead_letter_channel = "dead";
    herald::Broker broker(options);
    std::vector<herald::DeadLetter> letters;
    auto dl = broker.subscribe(herald::Topic<herald::DeadLetter>{"dead"},
                               [&](const herald::DeadLetter& l) { letters.push_back(l); });
    const herald::Topic<std::unique_ptr<int>> topic{"owned"};
    auto failing =
        broker.subscribe(topic, [](const std::unique_ptr<int>&) { throw std::runtime_error("x"); });
    CHECK(broker.publish(topic, std::make_unique<int>(1)) == 1);
    REQUIRE(letters.size() == 1);
    CHECK(letters[0].channel == "owned");
    CHECK(letters[0].subscription_id == failing.id());
    CHECK_FALSE(letters[0].payload.has_value()); // a unique_ptr cannot be copied into it
}
