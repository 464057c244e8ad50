// Uses the herald::fmt component: herald's types formatted by fmt.
#include <herald/fmt.hpp>
#include <herald/herald.hpp>

#include <fmt/format.h>

#include <cstdio>
#include <string>

int main() {
    herald::Broker broker;
    std::string line;
    auto sub = broker.subscribe("chat:general", [&](const herald::Message<std::string>& m) {
        line = fmt::format("{}", m);
    });
    broker.publish("chat:general", "hello");
    const std::string expected = R"(message "chat:general" #1: hello)";
    if (line != expected) {
        std::fprintf(stderr, "consumer_fmt: got '%s', expected '%s'\n", line.c_str(),
                     expected.c_str());
        return 1;
    }
    fmt::print("herald consumer_fmt OK: {} / {}\n", line, herald::MessageKind::pmessage);
    return 0;
}
