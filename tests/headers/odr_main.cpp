// ODR check: odr_a.cpp and odr_b.cpp include the umbrella header and use the same broker,
// topic and payload types; linked together they must agree (one type identity, one set of
// inline variables). A typed topic subscribed in one unit and published in the other is the
// visible part: a second copy of the type registry would make the channel look mistyped.
#include "odr.hpp"

#include <cstdio>

int main() {
    herald::Broker broker;
    std::size_t received_a = 0;
    std::size_t received_b = 0;
    // Each side subscribes while it publishes; a subscription from the other side is live too.
    auto keep = broker.subscribe(odr_topic, [&](const OdrPayload& p) {
        received_b += static_cast<std::size_t>(p.value) * 100;
    });
    const std::size_t a = odr_subscribe_and_publish_a(broker, received_a);
    const std::size_t b = odr_subscribe_and_publish_b(broker, received_b);
    // Per side: the topic reaches its own and main's subscriber (2), the text its own
    // subscriber and its own pattern subscriber (2).
    if (a != 4 || b != 4) {
        std::fprintf(stderr, "odr check: deliveries a=%zu b=%zu, expected 4 and 4\n", a, b);
        return 1;
    }
    std::printf("odr check OK: a=%zu b=%zu received_a=%zu received_b=%zu\n", a, b, received_a,
                received_b);
    return 0;
}
