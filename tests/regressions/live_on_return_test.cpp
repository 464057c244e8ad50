// Regression: a subscription is live the moment subscribe returns; no first-message loss.
//
// Source: libzmq #2826 (https://github.com/zeromq/libzmq/issues/2826) and the "slow joiner"
// problem: a SUB socket's subscription reaches the publisher asynchronously, so the first
// messages published right after subscribing are silently lost. In herald the subscription is in
// the channel's list before subscribe returns; any publish that starts afterwards, on any
// thread, reaches it.
#include <herald/herald.hpp>

#include "test_catch.hpp"
#include "test_helpers.hpp"

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

enum class Kind { inline_exact, inline_pattern, queued_workers, mailbox };

} // namespace

TEST_CASE("regression: a subscription made on one thread receives the very first message "
          "another thread publishes after subscribe returned (libzmq #2826)",
          "[regression][threads]") {
    constexpr int rounds = 500;
    for (const Kind kind :
         {Kind::inline_exact, Kind::inline_pattern, Kind::queued_workers, Kind::mailbox}) {
        CAPTURE(static_cast<int>(kind));
        herald::Broker<int> broker;
        // The publisher waits for the subscriber's signal (release/acquire on `ready`), then
        // publishes the round's first message at once.
        std::atomic<int> ready{-1};
        std::atomic<int> done{-1};
        std::vector<std::size_t> first_receivers(rounds, 0);
        std::thread publisher([&] {
            for (int r = 0; r < rounds; ++r) {
                while (ready.load(std::memory_order_acquire) != r) {
                    std::this_thread::yield();
                }
                first_receivers[static_cast<std::size_t>(r)] =
                    broker.publish("room:" + std::to_string(r), r);
                done.store(r, std::memory_order_release);
            }
        });
        std::uint64_t lost = 0;
        for (int r = 0; r < rounds; ++r) {
            const std::string channel = "room:" + std::to_string(r);
            std::atomic<int> got{-1};
            herald::Subscription sub;
            std::optional<herald::Mailbox<int>> box;
            const auto handler = [&got](const int& v) { got.store(v); };
            switch (kind) {
            case Kind::inline_exact:
                sub = broker.subscribe(channel, handler);
                break;
            case Kind::inline_pattern:
                sub = broker.psubscribe(herald::nats_pattern("room:" + std::to_string(r), ':'),
                                        handler);
                break;
            case Kind::queued_workers:
                sub = broker.subscribe(channel, handler, herald::queued{});
                break;
            case Kind::mailbox:
                box.emplace(broker.subscribe(channel, herald::queued{}));
                break;
            }
            ready.store(r, std::memory_order_release); // subscribe has returned
            while (done.load(std::memory_order_acquire) != r) {
                std::this_thread::yield();
            }
            if (kind == Kind::mailbox) {
                auto m = box->try_receive(); // the publish has returned: it is queued already
                if (m && m->payload == r) {
                    got.store(r);
                }
            } else if (kind == Kind::queued_workers &&
                       first_receivers[static_cast<std::size_t>(r)] == 1) {
                while (sub.stats().delivered == 0) {
                    std::this_thread::yield(); // accepted by the queue; wait for the worker
                }
            }
            if (got.load() != r) {
                ++lost;
            }
        }
        publisher.join();
        CHECK(lost == 0);
        for (int r = 0; r < rounds; ++r) {
            CHECK(first_receivers[static_cast<std::size_t>(r)] == 1);
        }
    }
}
