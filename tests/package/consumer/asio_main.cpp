// Uses the herald::asio component: a mailbox received inside an asio coroutine.
#include <herald/asio.hpp>
#include <herald/herald.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/use_awaitable.hpp>

#include <cstdio>
#include <string>

int main() {
    asio::io_context io;
    herald::Broker broker;
    auto mailbox = broker.subscribe("chat:general", herald::queued{});
    std::string got;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            if (auto m = co_await herald::async_receive(mailbox, asio::use_awaitable)) {
                got = m->payload;
            }
        },
        asio::detached);
    broker.publish("chat:general", "hello");
    io.run();
    if (got != "hello") {
        std::fprintf(stderr, "consumer_asio: got '%s', expected 'hello'\n", got.c_str());
        return 1;
    }
    std::printf("herald consumer_asio OK: %s\n", got.c_str());
    return 0;
}
