// One of the two translation units of the ODR check (see odr.hpp).
#include "odr.hpp"

#include <utility>

std::size_t odr_subscribe_and_publish_b(herald::Broker<>& broker, std::size_t& received) {
    auto typed = broker.subscribe(
        odr_topic, [&](const OdrPayload& p) { received += static_cast<std::size_t>(p.value); });
    auto text = broker.subscribe("odr:text", [&](const std::string& s) { received += s.size(); });
    auto pattern = broker.psubscribe("odr:te*", [&](const herald::Message<std::string>& m) {
        received += m.kind == herald::MessageKind::pmessage ? 1U : 0U;
    });
    std::size_t deliveries = broker.publish(odr_topic, OdrPayload{1});
    deliveries += broker.publish("odr:text", "ab");
    return deliveries;
}
