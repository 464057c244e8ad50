#pragma once
// The registration entry points of each part of the benchmark binary. main.cpp calls them in
// an order that puts every implementation of one workload size next to each other, so slow
// drift of a noisy machine hurts the ratios as little as possible.

#include <cstddef>

namespace bench {

// W1 inline fan-out: one channel, n subscribers, 64-byte payload by const reference.
void add_w1_peers(std::size_t subscribers);
void add_w1_herald(std::size_t subscribers);

// W2 string routing: `channels` channels with one subscriber each.
void add_w2_peers(std::size_t channels);
void add_w2_herald(std::size_t channels);
void add_w2_redis(std::size_t channels);

// W3 patterns: `patterns` specific patterns plus a few broad ones.
void add_w3_peers(std::size_t patterns);
void add_w3_herald(std::size_t patterns);
void add_w3_redis(std::size_t patterns);

// W5 churn: subscribe + unsubscribe pairs while another channel has 100 subscribers.
void add_w5_peers();
void add_w5_herald();

} // namespace bench
