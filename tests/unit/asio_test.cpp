// Unit tests of <herald/asio.hpp>: asio executors as herald executors, and asynchronous
// receives from a mailbox inside asio::co_spawn and with a plain callback.
#include <herald/asio.hpp>

#include <herald/broker.hpp>
#include <herald/queue.hpp>

#include "test_catch.hpp"

#include <asio/bind_executor.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/strand.hpp>
#include <asio/use_awaitable.hpp>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

TEST_CASE("asio: a queued handler runs on an io_context through asio_executor", "[asio]") {
    asio::io_context io;
    herald::Broker broker;
    std::vector<std::string> seen;
    std::thread::id ran_on;
    herald::queued q;
    q.executor = herald::asio_executor(asio::make_strand(io));
    auto sub = broker.subscribe(
        "jobs",
        [&](const std::string& s) {
            seen.push_back(s);
            ran_on = std::this_thread::get_id();
        },
        q);
    std::thread publisher([&] {
        broker.publish("jobs", "a");
        broker.publish("jobs", "b");
    });
    publisher.join();
    CHECK(seen.empty()); // nothing runs until the io_context does
    io.run();
    CHECK(seen == std::vector<std::string>{"a", "b"});
    CHECK(ran_on == std::this_thread::get_id());
}

// asio's awaitable needs its ASIO_HAS_CO_AWAIT: asio 1.22 enables it for GCC, not for clang
// with libstdc++'s <coroutine> (it looks for <experimental/coroutine>). The callback tests
// below exercise the same operation there.
#if defined(ASIO_HAS_CO_AWAIT)
TEST_CASE("asio: async_receive with use_awaitable resumes the coroutine on its executor",
          "[asio]") {
    asio::io_context io;
    herald::Broker broker;
    auto mailbox = broker.subscribe("chat", herald::queued{});
    std::vector<std::string> got;
    bool ended = false;
    std::thread::id resumed_on;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            while (auto m = co_await herald::async_receive(mailbox, asio::use_awaitable)) {
                got.push_back(m->payload);
                resumed_on = std::this_thread::get_id();
            }
            ended = true;
        },
        asio::detached);
    broker.publish("chat", "queued before");
    std::thread publisher([&] {
        // Published while the coroutine waits (or not yet: either way nothing is lost).
        std::this_thread::sleep_for(5ms);
        broker.publish("chat", "from another thread");
        std::this_thread::sleep_for(5ms);
        mailbox.unsubscribe(); // ends the loop; run() then returns
    });
    io.run(); // the pending receive is work: run() waits for the end
    publisher.join();
    CHECK(got == std::vector<std::string>{"queued before", "from another thread"});
    CHECK(ended);
    CHECK(resumed_on == std::this_thread::get_id());
}
#endif // ASIO_HAS_CO_AWAIT

TEST_CASE("asio: async_receive completes a callback on the given executor, never inline",
          "[asio]") {
    asio::io_context io;
    herald::Broker broker;
    auto mailbox = broker.subscribe("chat", herald::queued{});
    broker.publish("chat", "ready");
    std::optional<std::string> got;
    bool called = false;
    herald::async_receive(mailbox, io.get_executor(),
                          [&](std::optional<herald::Envelope<std::string>> m) {
                              called = true;
                              if (m) {
                                  got = m->payload;
                              }
                          });
    CHECK_FALSE(called); // asio's rule: not from inside the initiating call
    io.run();
    CHECK(called);
    CHECK(got == "ready");
}

#if defined(ASIO_HAS_CO_AWAIT) // see above
TEST_CASE("asio: async_receive_for completes empty after the timeout", "[asio]") {
    asio::io_context io;
    herald::Broker broker;
    auto mailbox = broker.subscribe("chat", herald::queued{});
    std::optional<bool> empty;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            auto m = co_await herald::async_receive_for(mailbox, 10ms, asio::use_awaitable);
            empty = !m.has_value();
        },
        asio::detached);
    const auto started = std::chrono::steady_clock::now();
    io.run();
    CHECK(empty == true);
    CHECK(std::chrono::steady_clock::now() - started >= 10ms);
}

TEST_CASE("asio: broker shutdown completes a pending receive with nothing", "[asio]") {
    asio::io_context io;
    herald::Broker broker;
    auto mailbox = broker.subscribe("chat", herald::queued{});
    std::atomic<bool> done{false};
    bool empty = false;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            auto m = co_await herald::async_receive(mailbox, asio::use_awaitable);
            empty = !m.has_value();
            done = true;
        },
        asio::detached);
    io.run_one(); // starts the coroutine, which parks
    CHECK_FALSE(done.load());
    broker.shutdown();
    io.run();
    CHECK(done.load());
    CHECK(empty);
}
#endif // ASIO_HAS_CO_AWAIT
