// Publishing while the broker shuts down or is destroyed on another thread: what herald defines
// (docs/hardening.md) under ThreadSanitizer and ASan+UBSan.
// - `shutdown()` racing `publish()` on the same (live) broker object: each publish is either
//   fully delivered (inline handlers ran, queued messages accepted and then drained) or returns
//   0 and reaches nobody; once shutdown returned, every publish returns 0.
// - The broker object destroyed while other threads publish through `Publisher`s, destroy or
//   query `Subscription` handles, and block in a mailbox's `listen()`: all of them stay valid
//   (they share ownership of the broker's core), publishes after the destruction return 0,
//   handles become inert, blocked receivers wake up.
// Calling a member function of the `Broker` object itself while another thread destroys that
// object is a race on the object, undefined as for any C++ object, and not tested.
#include <herald/herald.hpp>

#include "test_catch.hpp"
#include "test_helpers.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int rounds = 150;
constexpr int publishes_per_thread = 400;

} // namespace

TEST_CASE("stress: publishes racing shutdown() are delivered fully or return 0, and return 0 "
          "once it returned",
          "[stress][shutdown]") {
    for (int round = 0; round < rounds; ++round) {
        herald_test::ThreadPool pool(1);
        herald::Broker<int> broker;
        std::atomic<std::uint64_t> inline_calls{0}, queued_calls{0}, executor_calls{0};
        auto inline_sub = broker.subscribe("c", [&](const int&) { inline_calls.fetch_add(1); });
        auto pattern_sub = broker.psubscribe("c*", [&](const int&) { inline_calls.fetch_add(1); });
        herald::queued lossless;
        lossless.capacity = 4 * publishes_per_thread;
        auto queued_sub = broker.subscribe(
            "c", [&](const int&) { queued_calls.fetch_add(1); }, lossless);
        herald::queued on_pool = lossless;
        on_pool.executor = herald::Executor::of(pool);
        auto executor_sub = broker.subscribe(
            "c", [&](const int&) { executor_calls.fetch_add(1); }, on_pool);

        std::atomic<bool> shut{false};
        std::atomic<std::uint64_t> receivers{0}, after_shutdown_nonzero{0}, partial{0};
        std::atomic<int> progress{0};
        std::vector<std::thread> publishers;
        for (int p = 0; p < 2; ++p) {
            publishers.emplace_back([&] {
                for (int i = 0; i < publishes_per_thread; ++i) {
                    progress.fetch_add(1);
                    const bool was_shut = shut.load(std::memory_order_acquire);
                    const std::size_t r = broker.publish("c", i);
                    if (was_shut && r != 0) {
                        after_shutdown_nonzero.fetch_add(1);
                    }
                    if (r != 0 && r != 4) {
                        partial.fetch_add(1); // some receivers but not all: never allowed
                    }
                    receivers.fetch_add(r);
                }
            });
        }
        while (progress.load() < publishes_per_thread / 2) {
            std::this_thread::yield(); // shut down while the publishers are mid-way
        }
        broker.shutdown(herald::ShutdownMode::drain);
        shut.store(true, std::memory_order_release);
        for (auto& t : publishers) {
            t.join();
        }
        pool.join();
        CHECK(after_shutdown_nonzero.load() == 0);
        CHECK(partial.load() == 0);
        // Every accepted message was delivered: inline at once, queued by the drain.
        CHECK(receivers.load() ==
              inline_calls.load() + queued_calls.load() + executor_calls.load());
        CHECK(queued_sub.stats().dropped == 0);
        CHECK(executor_sub.stats().dropped == 0);
        CHECK_FALSE(inline_sub.active());
        CHECK_FALSE(pattern_sub.active());
    }
}

TEST_CASE("stress: Publishers, handles and mailbox receivers on other threads survive the "
          "broker's destruction and turn inert",
          "[stress][shutdown]") {
    const herald::Topic<int> topic{"t"};
    for (int round = 0; round < rounds; ++round) {
        herald_test::ThreadPool pool(1); // outlives the broker, as executors must
        auto broker = std::make_unique<herald::Broker<int>>();
        std::atomic<std::uint64_t> inline_calls{0}, queued_calls{0}, received{0};
        // Handles owned by a thread that ends them while the broker goes away.
        std::vector<herald::Subscription> doomed;
        for (int i = 0; i < 8; ++i) {
            doomed.push_back(
                broker->subscribe(topic, [&](const int&) { inline_calls.fetch_add(1); }));
        }
        // Handles kept to the end: read after the broker is gone.
        herald::queued lossless;
        lossless.capacity = 4 * publishes_per_thread;
        auto kept_queued = broker->subscribe(
            topic, [&](const int&) { queued_calls.fetch_add(1); }, lossless);
        herald::queued on_pool = lossless;
        on_pool.executor = herald::Executor::of(pool);
        auto kept_executor = broker->subscribe(
            topic, [&](const int&) { queued_calls.fetch_add(1); }, on_pool);
        auto kept_inline =
            broker->psubscribe<int>("t*", [&](const int&) { inline_calls.fetch_add(1); });
        auto box = broker->subscribe(topic, lossless);

        std::atomic<bool> destroyed{false}, mailbox_still_active{false};
        std::atomic<std::uint64_t> receivers{0}, after_destruction_nonzero{0};
        std::atomic<int> progress{0};
        std::vector<std::thread> threads;
        for (int p = 0; p < 2; ++p) {
            threads.emplace_back([&, publisher = broker->publisher(topic)] {
                for (int i = 0; i < publishes_per_thread; ++i) {
                    const bool was_destroyed = destroyed.load(std::memory_order_acquire);
                    const std::size_t r = publisher.publish(i);
                    if (was_destroyed && r != 0) {
                        after_destruction_nonzero.fetch_add(1);
                    }
                    receivers.fetch_add(r);
                    progress.fetch_add(1);
                }
            }); // the Publisher copy is destroyed here, after the broker
        }
        threads.emplace_back([&, mine = std::move(doomed)]() mutable {
            while (progress.load() < publishes_per_thread / 2) {
                std::this_thread::yield();
            }
            for (auto& s : mine) {
                (void)s.stats();
                s = herald::Subscription{}; // destroys the previous handle
            }
        });
        threads.emplace_back([&, mailbox = std::move(box)]() mutable {
            for (auto& m : mailbox.listen()) { // returns when the broker goes away
                (void)m;
                received.fetch_add(1);
            }
            mailbox_still_active = mailbox.active();
        });
        while (progress.load() < publishes_per_thread / 2) {
            std::this_thread::yield();
        }
        broker.reset(); // ~Broker: shuts down, drains the queues, joins the workers
        destroyed.store(true, std::memory_order_release);
        for (auto& t : threads) {
            t.join();
        }
        pool.join();

        CHECK(after_destruction_nonzero.load() == 0);
        CHECK_FALSE(mailbox_still_active.load());
        CHECK_FALSE(kept_queued.active());
        CHECK_FALSE(kept_inline.active());
        const auto q = kept_queued.stats();
        const auto e = kept_executor.stats();
        CHECK(q.dropped == 0);
        CHECK(e.dropped == 0);
        CHECK(queued_calls.load() == q.delivered + e.delivered);
        // Every receiver a publish counted got the message: inline handlers, drained queues,
        // and the mailbox (whose listener received what was queued before it ended).
        const std::uint64_t doomed_accounted = inline_calls.load();
        CHECK(receivers.load() == doomed_accounted + queued_calls.load() + received.load());
        kept_queued.unsubscribe(); // inert: safe, returns the final counters
        CHECK(kept_queued.unsubscribe().delivered == q.delivered);
    }
}
