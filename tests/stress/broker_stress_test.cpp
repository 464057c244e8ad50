// The whole broker under concurrency, meant for ThreadSanitizer and ASan+UBSan: publisher
// threads; churn threads subscribing, unsubscribing or destroying handles and querying the
// broker all the while; exact and pattern subscriptions of every grammar; inline handlers and
// queued ones on the broker's workers, on a user executor, polled, and mailboxes. Fixed
// iteration counts, never durations. Handlers only count (Catch2 assertions stay on the main
// thread); the checks run once everything has settled:
// - per subscriber, each publisher's messages of each channel arrive in publish order, and
//   without gaps wherever nothing can be dropped;
// - no handler runs after its unsubscribe (or handle destructor) returned;
// - every handler call is counted in its subscription's stats (delivered + errors);
// - the receivers all publishes reported equal the messages all subscriptions accepted
//   (delivered + errors + still queued + dropped after acceptance).
#include <herald/herald.hpp>

#include "test_catch.hpp"
#include "test_helpers.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int publishers = 4;
constexpr int channels = 4;
constexpr int per_publisher = 30000;
constexpr int churners = 3;
constexpr int churn_iterations = 5000;

struct Msg {
    int publisher = 0;
    int channel = 0;
    std::int64_t sequence = 0; // per (publisher, channel), from 0
};

std::string channel_name(int c) {
    return "room." + std::to_string(c);
}

/// What one subscription saw. Written only by its handler's invocations: for a given
/// (publisher, channel) slot those never overlap (inline: the publisher's own thread; queued:
/// never concurrently with itself), so relaxed atomics suffice for the final reads.
struct Audit {
    explicit Audit(bool lossless_) : lossless(lossless_) {
        for (auto& l : last) {
            l.store(-1, std::memory_order_relaxed);
        }
    }
    Audit(const Audit&) = delete;
    Audit& operator=(const Audit&) = delete;

    void see(const Msg& m) {
        if (closed.load(std::memory_order_acquire)) {
            late.fetch_add(1, std::memory_order_relaxed);
        }
        calls.fetch_add(1, std::memory_order_relaxed);
        auto& slot = last[static_cast<std::size_t>(m.publisher * channels + m.channel)];
        const std::int64_t previous = slot.load(std::memory_order_relaxed);
        if (m.sequence <= previous) {
            disorder.fetch_add(1, std::memory_order_relaxed);
        } else if (lossless && m.sequence != previous + 1) {
            gaps.fetch_add(1, std::memory_order_relaxed);
        }
        slot.store(m.sequence, std::memory_order_relaxed);
    }

    const bool lossless;
    std::atomic<bool> closed{false};
    std::atomic<std::uint64_t> calls{0}, late{0}, disorder{0}, gaps{0};
    std::array<std::atomic<std::int64_t>, publishers * channels> last{};
};

/// Messages a subscription accepted: what publish() counted for it.
std::uint64_t accepted(const herald::SubscriptionStats& s) {
    return s.delivered + s.errors + s.queued + (s.dropped - s.drops.newest);
}

/// A churned subscription, owned by the churn thread that made it.
struct Tracked {
    Audit audit{false};
    herald::Subscription handle;
    std::optional<herald::Mailbox<Msg>> mailbox;
    bool polled = false;
    bool queued = false;
    bool destroyed = false; // its handle is gone: no stats to read at the end
};

/// A deterministic pseudo-random sequence per thread.
struct Lcg {
    std::uint64_t state;
    std::uint32_t next() {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        return static_cast<std::uint32_t>(state >> 33);
    }
    int below(int n) { return static_cast<int>(next() % static_cast<std::uint32_t>(n)); }
};

void run(bool destroy_handles) {
    herald_test::ThreadPool pool(2); // a user executor; outlives the broker
    herald::BrokerOptions options;
    options.workers = 2;
    herald::Broker<Msg> broker(options);
    std::atomic<std::uint64_t> hook_calls{0};
    broker.on_error([&](const herald::ErrorInfo&) { hook_calls.fetch_add(1); });

    constexpr auto total = static_cast<std::uint64_t>(publishers) * per_publisher;
    constexpr std::uint64_t per_channel = total / channels;
    std::deque<Audit> audits; // stable addresses; the main thread's only
    const auto audit = [&](bool lossless) { return &audits.emplace_back(lossless); };

    // ---- long-lived subscribers, there before the first publish and after the last ----
    herald::queued big;
    big.capacity = 2 * total;
    Audit* exact_inline = audit(true);
    auto s_exact_inline =
        broker.subscribe(channel_name(0), [a = exact_inline](const Msg& m) { a->see(m); });
    Audit* throwing_pattern = audit(true); // every 97th message throws: counted, isolated
    auto s_throwing_pattern =
        broker.psubscribe(herald::nats_pattern("room.*"), [a = throwing_pattern](const Msg& m) {
            a->see(m);
            if (m.sequence % 97 == 0) {
                throw std::runtime_error("stress");
            }
        });
    Audit* on_workers = audit(true);
    auto s_on_workers = broker.subscribe(
        channel_name(1), [a = on_workers](const Msg& m) { a->see(m); }, big);
    Audit* on_executor = audit(true);
    herald::queued with_pool = big;
    with_pool.executor = herald::Executor::of(pool);
    auto s_on_executor = broker.psubscribe(
        "room.[23]", [a = on_executor](const Msg& m) { a->see(m); }, with_pool);
    Audit* polled = audit(true);
    herald::queued by_poll = big;
    by_poll.executor = herald::Executor::polled();
    auto s_polled = broker.subscribe(
        channel_name(2), [a = polled](const Msg& m) { a->see(m); }, by_poll);
    Audit* mailbox = audit(true);
    auto s_mailbox = broker.psubscribe(herald::mqtt_pattern("#"), big);
    Audit* small_newest = audit(false);
    herald::queued small;
    small.capacity = 16;
    auto s_small_newest = broker.psubscribe(
        "room.*", [a = small_newest](const Msg& m) { a->see(m); }, small);
    Audit* conflating = audit(false);
    herald::queued conflate;
    conflate.capacity = 2;
    conflate.overflow = herald::Overflow::conflate;
    conflate.executor = herald::Executor::of(pool);
    auto s_conflating = broker.psubscribe(
        "room.*", [a = conflating](const Msg& m) { a->see(m); }, conflate);

    std::atomic<int> publishers_done{0};
    std::atomic<std::uint64_t> receivers{0};
    // Churn is paced by publishing progress (a count, not a clock), so the two overlap
    // whatever the scheduler does: churn iteration i waits for the i-th share of publishes.
    std::atomic<std::uint64_t> published{0};
    herald_test::Gate start;

    // ---- consumers of the polled subscription and the mailbox ----
    std::thread poller([&] {
        while (publishers_done.load() < publishers) {
            s_polled.wait_for(std::chrono::milliseconds(1));
        }
        s_polled.poll(); // nothing is published any more: this empties it
    });
    std::thread listener([&, box = std::move(s_mailbox)]() mutable {
        for (auto& m : box.listen()) { // until the broker shuts down
            mailbox->see(m.payload);
        }
    });

    // ---- churn: subscriptions of every kind come and go; the broker is queried ----
    std::vector<std::deque<Tracked>> churned(churners);
    std::vector<std::thread> churn_threads;
    for (int t = 0; t < churners; ++t) {
        churn_threads.emplace_back([&, t] {
            Lcg rng{static_cast<std::uint64_t>(t) + 1};
            std::deque<Tracked>& mine = churned[static_cast<std::size_t>(t)];
            std::vector<Tracked*> live;
            const auto end_one = [&] {
                const auto i = static_cast<std::size_t>(rng.below(static_cast<int>(live.size())));
                Tracked* victim = live[i];
                live.erase(live.begin() + static_cast<std::ptrdiff_t>(i));
                if (victim->mailbox) {
                    while (auto m = victim->mailbox->try_receive()) {
                        victim->audit.see(m->payload);
                    }
                }
                if (destroy_handles) {
                    // The destructors end the subscription.
                    victim->mailbox.reset();
                    herald::Subscription gone = std::move(victim->handle);
                    victim->destroyed = true;
                } else if (victim->mailbox) {
                    victim->mailbox->unsubscribe();
                } else {
                    victim->handle.unsubscribe();
                }
                victim->audit.closed.store(true, std::memory_order_release);
            };
            start.wait();
            for (int i = 0; i < churn_iterations; ++i) {
                const auto due = total * static_cast<std::uint64_t>(i) / churn_iterations;
                while (published.load(std::memory_order_relaxed) < due &&
                       publishers_done.load() < publishers) {
                    std::this_thread::yield();
                }
                const int action = rng.below(10);
                if (action < 5 && live.size() < 6) {
                    Tracked& tr = mine.emplace_back();
                    const auto see = [a = &tr.audit](const Msg& m) { a->see(m); };
                    herald::queued q;
                    q.capacity = 8;
                    switch (rng.below(8)) {
                    case 0:
                        tr.handle = broker.subscribe(channel_name(rng.below(channels)), see);
                        break;
                    case 1:
                        tr.handle = broker.psubscribe("room.?", see);
                        break;
                    case 2:
                        tr.handle = broker.psubscribe(herald::nats_pattern("room.>"), see);
                        break;
                    case 3:
                        tr.handle = broker.psubscribe(herald::mqtt_pattern("+"), see);
                        break;
                    case 4:
                        tr.queued = true;
                        tr.handle = broker.subscribe(channel_name(rng.below(channels)), see, q);
                        break;
                    case 5:
                        tr.queued = true;
                        q.overflow = herald::Overflow::drop_oldest;
                        q.executor = herald::Executor::of(pool);
                        tr.handle = broker.psubscribe("room.*", see, q);
                        break;
                    case 6:
                        tr.queued = true;
                        tr.polled = true;
                        q.executor = herald::Executor::polled();
                        tr.handle = broker.subscribe(channel_name(rng.below(channels)), see, q);
                        break;
                    default:
                        tr.queued = true;
                        tr.mailbox.emplace(broker.subscribe(channel_name(rng.below(channels)), q));
                        break;
                    }
                    live.push_back(&tr);
                } else if (action < 8 && !live.empty()) {
                    end_one();
                } else {
                    // Queries, and consuming what this thread consumes itself.
                    (void)broker.numsub(channel_name(rng.below(channels)));
                    (void)broker.numpat();
                    (void)broker.channels();
                    (void)broker.channels("room.*");
                    (void)broker.stats();
                    for (Tracked* tr : live) {
                        (void)tr->handle.stats();
                        if (tr->polled) {
                            tr->handle.poll();
                        } else if (tr->mailbox) {
                            while (auto m = tr->mailbox->try_receive()) {
                                tr->audit.see(m->payload);
                            }
                        }
                    }
                }
            }
            while (!live.empty()) {
                end_one();
            }
        });
    }

    // ---- publishers ----
    std::vector<std::thread> publisher_threads;
    for (int p = 0; p < publishers; ++p) {
        publisher_threads.emplace_back([&, p] {
            std::array<std::int64_t, channels> next{};
            std::uint64_t mine = 0;
            start.wait();
            for (int i = 0; i < per_publisher; ++i) {
                const int c = (i + p) % channels;
                const Msg m{p, c, next[static_cast<std::size_t>(c)]++};
                mine += broker.publish(channel_name(c), m);
                published.fetch_add(1, std::memory_order_relaxed);
            }
            receivers.fetch_add(mine);
            publishers_done.fetch_add(1);
        });
    }
    start.open();
    for (auto& t : publisher_threads) {
        t.join();
    }
    for (auto& t : churn_threads) {
        t.join();
    }
    poller.join();

    // Only the long-lived subscriptions are left.
    CHECK(broker.numsub(channel_name(0)) == 1);
    CHECK(broker.numsub(channel_name(1)) == 1);
    CHECK(broker.numsub(channel_name(2)) == 1);
    CHECK(broker.numsub(channel_name(3)) == 0);
    CHECK(broker.numpat() == 4); // "room.*" NATS and glob, "room.[23]", MQTT "#"
    CHECK(broker.stats().subscriptions == 8);

    broker.shutdown(herald::ShutdownMode::drain); // the queues are delivered, workers joined
    listener.join();
    pool.join();

    // ---- per subscription ----
    const auto check_audit = [](const Audit& a, const herald::SubscriptionStats& st) {
        CHECK(a.late.load() == 0);
        CHECK(a.disorder.load() == 0);
        CHECK(a.gaps.load() == 0);
        CHECK(a.calls.load() == st.delivered + st.errors);
    };
    const std::vector<std::pair<Audit*, herald::Subscription*>> long_lived{
        {exact_inline, &s_exact_inline},
        {throwing_pattern, &s_throwing_pattern},
        {on_workers, &s_on_workers},
        {on_executor, &s_on_executor},
        {polled, &s_polled},
        {small_newest, &s_small_newest},
        {conflating, &s_conflating}};
    std::uint64_t accepted_total = 0;
    for (const auto& [a, s] : long_lived) {
        const auto st = s->stats();
        check_audit(*a, st);
        accepted_total += accepted(st);
    }
    CHECK(exact_inline->calls.load() == per_channel);
    CHECK(throwing_pattern->calls.load() == total);
    CHECK(on_workers->calls.load() == per_channel);
    CHECK(on_executor->calls.load() == 2 * per_channel);
    CHECK(polled->calls.load() == per_channel);
    CHECK(mailbox->calls.load() == total);
    CHECK(mailbox->disorder.load() == 0);
    CHECK(mailbox->gaps.load() == 0);
    accepted_total += total; // the mailbox: every message, all received by the listener
    const auto throwing = s_throwing_pattern.stats();
    CHECK(throwing.errors == static_cast<std::uint64_t>(publishers * channels *
                                                        ((per_channel / publishers + 96) / 97)));
    CHECK(hook_calls.load() == throwing.errors);
    for (const auto* lossy : {&s_small_newest, &s_conflating}) {
        const auto st = lossy->stats();
        const std::uint64_t offered = total;
        CHECK(st.delivered + st.dropped + st.queued == offered); // nothing lost silently
    }

    // ---- churned subscriptions ----
    std::uint64_t churned_count = 0, churned_calls = 0;
    bool unknown_acceptance = false;
    for (auto& list : churned) {
        for (Tracked& tr : list) {
            ++churned_count;
            churned_calls += tr.audit.calls.load();
            CHECK(tr.audit.late.load() == 0);
            CHECK(tr.audit.disorder.load() == 0);
            if (!tr.destroyed) {
                const auto st = tr.mailbox ? tr.mailbox->stats() : tr.handle.stats();
                CHECK_FALSE(st.active);
                CHECK(tr.audit.calls.load() == st.delivered + st.errors);
                accepted_total += accepted(st);
            } else {
                // An inline subscription accepted exactly what it was called with; a queued
                // one also what its end discarded, which only its (destroyed) handle knew.
                accepted_total += tr.audit.calls.load();
                unknown_acceptance = unknown_acceptance || tr.queued;
            }
        }
    }
    INFO(churned_count << " churned subscriptions, " << churned_calls << " of their calls");
    CHECK(churned_count > 0);
    if (!unknown_acceptance) {
        // Every message a publish counted was accepted by exactly one subscription's count.
        CHECK(receivers.load() == accepted_total);
    } else {
        CHECK(receivers.load() >= accepted_total);
    }
}

} // namespace

TEST_CASE("stress: publishers, churning subscriptions of every kind and broker queries; every "
          "publish accounted for",
          "[stress]") {
    run(false);
}

TEST_CASE("stress: publishers while other threads destroy handles of every kind mid-dispatch",
          "[stress]") {
    run(true);
}
