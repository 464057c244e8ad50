// A program that uses herald through an integration path (find_package, add_subdirectory,
// pkg-config, a plain -I, the vcpkg port, the Conan recipe) and checks what it gets.
#include <herald/herald.hpp>

#include <cstdio>
#include <string>
#include <vector>

namespace {

struct DriverStatus {
    std::string driver_id;
    bool available = false;
};

int failures = 0;

void check(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "consumer: FAILED: %s\n", what);
        ++failures;
    }
}

} // namespace

int main() {
    static_assert(HERALD_VERSION ==
                  HERALD_VERSION_MAJOR * 10000 + HERALD_VERSION_MINOR * 100 + HERALD_VERSION_PATCH);

    herald::Broker broker;

    std::vector<std::string> texts;
    herald::Subscription chat =
        broker.subscribe("chat:general", [&](const std::string& text) { texts.push_back(text); });

    std::vector<std::string> alerts;
    auto alert_sub = broker.psubscribe("alerts:*", [&](const herald::Message<std::string>& m) {
        if (m.kind == herald::MessageKind::pmessage && m.pattern == "alerts:*") {
            alerts.emplace_back(m.channel);
        }
    });

    const herald::Topic<DriverStatus> driver_status_changed{"driver-status-changed"};
    int available = 0;
    auto status_sub = broker.subscribe(
        driver_status_changed, [&](const DriverStatus& s) { available += s.available ? 1 : 0; });

    check(broker.publish("chat:general", "hello") == 1, "publish to a channel counts one receiver");
    check(broker.publish("alerts:cpu_load", "85%") == 1, "publish matching a pattern counts one");
    check(broker.publish("nobody:listens", "x") == 0, "publish without subscribers counts zero");
    check(broker.publish(driver_status_changed, DriverStatus{"abc", true}) == 1,
          "publish to a typed topic counts one receiver");

    check(texts == std::vector<std::string>{"hello"}, "the channel subscriber got the text");
    check(alerts == std::vector<std::string>{"alerts:cpu_load"}, "the pattern subscriber matched");
    check(available == 1, "the typed subscriber got the payload");
    check(broker.numsub("chat:general") == 1, "numsub counts the subscriber");

    chat.unsubscribe();
    check(broker.publish("chat:general", "gone") == 0, "unsubscribed handlers are not called");

    if (failures == 0) {
        std::printf("herald consumer OK (herald %d.%d.%d)\n", HERALD_VERSION_MAJOR,
                    HERALD_VERSION_MINOR, HERALD_VERSION_PATCH);
    }
    return failures == 0 ? 0 : 1;
}
