// Instructions per publish, for callgrind: deterministic where timings on a shared 2-core
// machine are not. One process publishes `messages` times to `subscribers` inline handlers,
// each bumping its own counter; scripts/instructions.sh runs it under
// `valgrind --tool=callgrind` at two message counts and divides the difference, so set-up
// and tear-down cancel out.
//
//   herald_bench_instructions <path> <subscribers> <messages>
//   path: string | topic | publisher | single_threaded
#include <herald/herald.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

template <class Broker>
std::vector<herald::Subscription> fill(Broker& broker, std::vector<unsigned long>& counters) {
    std::vector<herald::Subscription> subscriptions;
    for (unsigned long& counter : counters) {
        subscriptions.push_back(
            broker.subscribe(herald::Topic<int>("readings"), [c = &counter](const int& v) {
                *c += static_cast<unsigned long>(v);
            }));
    }
    return subscriptions;
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr,
                     "usage: %s string|topic|publisher|single_threaded <subscribers> "
                     "<messages>\n",
                     argv[0]);
        return 2;
    }
    const std::string_view path = argv[1];
    const auto subscribers = static_cast<std::size_t>(std::strtoul(argv[2], nullptr, 10));
    const int messages = std::atoi(argv[3]);
    std::vector<unsigned long> counters(subscribers);
    const herald::Topic<int> topic("readings");
    std::size_t receivers = 0;
    if (path == "single_threaded") {
        herald::Broker<int, herald::single_threaded> broker;
        const auto keep = fill(broker, counters);
        for (int i = 0; i < messages; ++i) {
            receivers += broker.publish(topic, i);
        }
    } else {
        herald::Broker<int> broker;
        const auto keep = fill(broker, counters);
        if (path == "string") {
            for (int i = 0; i < messages; ++i) {
                receivers += broker.publish("readings", i);
            }
        } else if (path == "topic") {
            for (int i = 0; i < messages; ++i) {
                receivers += broker.publish(topic, i);
            }
        } else if (path == "publisher") {
            auto publisher = broker.publisher(topic);
            for (int i = 0; i < messages; ++i) {
                receivers += publisher.publish(i);
            }
        } else {
            std::fprintf(stderr, "unknown path '%s'\n", argv[1]);
            return 2;
        }
    }
    std::printf("%zu\n", receivers);
    return 0;
}
