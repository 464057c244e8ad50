#include <herald/herald.hpp>

#include <cstdio>
#include <string>

int main() {
    herald::Broker broker;
    std::string received;
    auto subscription =
        broker.subscribe("greetings", [&](const std::string& text) { received = text; });
    const std::size_t receivers = broker.publish("greetings", "hello from herald");
    std::printf("herald %d.%d.%d: %zu receiver(s), got '%s'\n", HERALD_VERSION_MAJOR,
                HERALD_VERSION_MINOR, HERALD_VERSION_PATCH, receivers, received.c_str());
    return receivers == 1 && received == "hello from herald" ? 0 : 1;
}
