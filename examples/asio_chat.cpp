// A chat room inside an asio program, after the notifications lab: two members receive in
// asio coroutines (herald::async_receive with asio::use_awaitable), a logger is a queued
// handler on an asio strand (herald::asio_executor), and a talker coroutine publishes a line
// every few milliseconds with an asio timer. Everything runs on the io_context's one thread;
// when the talker is done it shuts the broker down, which ends every receive, and run()
// returns.
#include <herald/asio.hpp>
#include <herald/herald.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/use_awaitable.hpp>

#include <fmt/core.h>

#include <chrono>
#include <string>

namespace {

asio::awaitable<void> member(std::string name, herald::Mailbox<std::string> mailbox) {
    fmt::print("[{}] joined #general\n", name);
    int lines = 0;
    while (auto m = co_await herald::async_receive(mailbox, asio::use_awaitable)) {
        ++lines;
        fmt::print("[{}] {}: {}\n", name, m->channel, m->payload);
    }
    fmt::print("[{}] left after {} lines\n", name, lines);
}

asio::awaitable<void> talker(herald::Broker<>& broker) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (const char* line : {"hello, room", "standup in five", "bye for now"}) {
        timer.expires_after(std::chrono::milliseconds(2));
        co_await timer.async_wait(asio::use_awaitable);
        const std::size_t receivers = broker.publish("chat:general", line);
        fmt::print("talker: '{}' to {} receivers\n", line, receivers);
    }
    broker.shutdown(); // ends the members' receives: they leave, and run() returns
}

} // namespace

int main() {
    asio::io_context io;
    herald::Broker broker;

    int logged = 0;
    herald::queued log_queue;
    log_queue.executor = herald::asio_executor(asio::make_strand(io));
    auto logger = broker.psubscribe(
        "chat:*",
        [&](const herald::Message<std::string>& m) {
            ++logged;
            fmt::print("log: {} '{}'\n", m.channel, m.payload);
        },
        log_queue);

    asio::co_spawn(io, member("alice", broker.subscribe("chat:general", herald::queued{})),
                   asio::detached);
    asio::co_spawn(io, member("bob", broker.subscribe("chat:general", herald::queued{})),
                   asio::detached);
    asio::co_spawn(io, talker(broker), asio::detached);
    io.run();
    fmt::print("io_context done: {} lines logged\n", logged);
}
