#pragma once
// Shared by odr_a.cpp and odr_b.cpp: the same typed topic and payload in two translation
// units, so their instantiations of herald's templates and inline variables must merge.

#include <herald/herald.hpp>

#include <cstddef>
#include <string>

struct OdrPayload {
    int value = 0;
};

inline const herald::Topic<OdrPayload> odr_topic{"odr:topic"};

/// Subscribes to odr_topic and "odr:text" from odr_a.cpp; returns the deliveries seen.
std::size_t odr_subscribe_and_publish_a(herald::Broker<>& broker, std::size_t& received);
/// The same from odr_b.cpp.
std::size_t odr_subscribe_and_publish_b(herald::Broker<>& broker, std::size_t& received);
