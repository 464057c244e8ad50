// Live notifications: a subscriber listens on two channels and one pattern; a publisher sends
// six messages and prints how many subscribers received each, as Redis PUBLISH reports. Then
// the subscriber goes away, misses what is published meanwhile (at-most-once), and comes back.
#include <herald/herald.hpp>

#include <fmt/core.h>

#include <string>
#include <utility>
#include <vector>

/// The subscriber of the lab: one "connection" holding all its subscriptions.
class Subscriber {
public:
    explicit Subscriber(herald::Broker<>& broker) : broker_(broker) {}

    void start() {
        for (const char* channel : {"system_notifications", "chat:general"}) {
            subscriptions_ += broker_.subscribe(channel, [](const herald::Message<std::string>& m) {
                fmt::print("--> DIRECT MESSAGE: [Channel: {}] Data: '{}'\n", m.channel, m.payload);
            });
            confirm("subscribe", channel);
        }
        subscriptions_ += broker_.psubscribe("alerts:*", [](const herald::Message<std::string>& m) {
            fmt::print("--> PATTERN MESSAGE: [Pattern: {}] [Channel: {}] Data: '{}'\n", m.pattern,
                       m.channel, m.payload);
        });
        confirm("psubscribe", "alerts:*");
    }

    void stop() {
        subscriptions_.unsubscribe_all();
        fmt::print("Stopping subscriber.\n");
    }

private:
    void confirm(const char* type, const char* target) {
        fmt::print("CONFIRMED SUBSCRIPTION: Type='{}', Target='{}', Active Subscriptions={}\n",
                   type, target, subscriptions_.size());
    }

    herald::Broker<>& broker_;
    herald::SubscriptionGroup subscriptions_;
};

void publish_all(herald::Broker<>& broker,
                 const std::vector<std::pair<std::string, std::string>>& messages) {
    for (const auto& [channel, data] : messages) {
        fmt::print("Publishing to '{}': '{}'\n", channel, data);
        const std::size_t receivers = broker.publish(channel, data);
        fmt::print("Message published to '{}' and received by {} subscriber(s).\n", channel,
                   receivers);
    }
}

int main() {
    herald::Broker broker;
    Subscriber subscriber(broker);
    subscriber.start();
    fmt::print("Listening on channels 'system_notifications', 'chat:general' and pattern "
               "'alerts:*' ({} channels, {} pattern)\n",
               broker.channels().size(), broker.numpat());

    fmt::print("Starting publisher...\n");
    publish_all(broker, {
                            {"system_notifications", "ALERT: Disk usage is 90%!"},
                            {"chat:general", "Hey team, project update at 3 PM!"},
                            {"system_notifications", "INFO: Database backup completed."},
                            {"alerts:cpu_load", R"({"level": "WARN", "value": "85%"})"},
                            {"chat:general", "Anyone free for a quick sync?"},
                            {"alerts:disk_space", "CRITICAL: Service X storage is full!"},
                        });
    fmt::print("Finished publishing messages.\n");

    subscriber.stop();
    publish_all(broker, {
                            {"chat:general", "Did anyone see my last message?"},
                            {"alerts:cpu_load", R"({"level": "CRIT", "value": "99%"})"},
                        });

    fmt::print("Restarting subscriber: what was published while it was away is not received.\n");
    subscriber.start();
    publish_all(broker, {{"chat:general", "Welcome back!"}});
}
