// Presence: users come online, go away and offline at a high rate. The presence system keeps
// the exact state inline; a slow dashboard subscribes with a conflating queue, so it never
// falls behind: it skips superseded updates and always converges on the latest state per user.
#include <herald/herald.hpp>

#include <fmt/core.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

enum class Status : std::uint8_t { online, away, offline };

constexpr std::array<const char*, 3> status_names{"online", "away", "offline"};

struct PresenceUpdate {
    std::string user_id;
    Status status = Status::offline;
    std::uint64_t revision = 0; // per user, increasing
};

std::string presence_channel(const std::string& user_id) {
    return "presence:" + user_id;
}

/// The seed's PresenceSystem: an exact map of who is online, updated on every message.
class PresenceSystem {
public:
    explicit PresenceSystem(herald::Broker<>& broker) {
        subscription_ =
            broker.psubscribe<PresenceUpdate>("presence:*", [this](const PresenceUpdate& u) {
                std::lock_guard lock(mutex_);
                if (u.status == Status::offline) {
                    online_.erase(u.user_id);
                } else {
                    online_[u.user_id] = u.status;
                }
            });
    }
    std::size_t online_users() const {
        std::lock_guard lock(mutex_);
        return online_.size();
    }

private:
    mutable std::mutex mutex_;
    std::map<std::string, Status> online_;
    herald::Subscription subscription_;
};

/// A dashboard that takes 50 µs to render one update: far slower than updates arrive.
class Dashboard {
public:
    explicit Dashboard(herald::Broker<>& broker, std::size_t users) {
        herald::queued options;
        options.capacity = users; // one pending update per user is all it ever needs
        options.overflow = herald::Overflow::conflate;
        subscription_ = broker.psubscribe<PresenceUpdate>(
            "presence:*",
            [this](const PresenceUpdate& u) {
                std::this_thread::sleep_for(std::chrono::microseconds(50)); // "rendering"
                std::lock_guard lock(mutex_);
                shown_[u.user_id] = u;
                ++renders_;
            },
            options);
    }
    std::map<std::string, PresenceUpdate> shown() const {
        std::lock_guard lock(mutex_);
        return shown_;
    }
    std::uint64_t renders() const {
        std::lock_guard lock(mutex_);
        return renders_;
    }
    herald::SubscriptionStats stats() const { return subscription_.stats(); }

private:
    mutable std::mutex mutex_;
    std::map<std::string, PresenceUpdate> shown_;
    std::uint64_t renders_ = 0;
    herald::Subscription subscription_;
};

int main() {
    constexpr std::size_t users = 40;
    constexpr int publishers = 2;
    constexpr int updates_per_publisher = 20000;

    herald::Broker broker;
    PresenceSystem presence(broker);
    Dashboard dashboard(broker, users);

    // Each publisher owns half of the users, so every user's updates come from one thread in
    // order; the generator is seeded, so the final state is the same on every run.
    std::vector<std::map<std::string, PresenceUpdate>> last(publishers);
    std::vector<std::thread> threads;
    for (int p = 0; p < publishers; ++p) {
        threads.emplace_back([&, p] {
            std::mt19937 random(static_cast<std::uint32_t>(1234 + p));
            std::map<std::string, std::uint64_t> revisions;
            for (int i = 0; i < updates_per_publisher; ++i) {
                const std::size_t user =
                    (random() % (users / publishers)) * publishers + static_cast<std::size_t>(p);
                const std::string id = fmt::format("user-{:02}", user);
                PresenceUpdate update{id, static_cast<Status>(random() % 3), ++revisions[id]};
                last[static_cast<std::size_t>(p)][id] = update;
                broker.publish(herald::Topic<PresenceUpdate>{presence_channel(id)},
                               std::move(update));
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    broker.shutdown(herald::ShutdownMode::drain); // the dashboard renders what is still pending

    std::map<std::string, PresenceUpdate> expected;
    for (const auto& m : last) {
        expected.insert(m.begin(), m.end());
    }
    const auto shown = dashboard.shown();
    bool converged = shown.size() == expected.size();
    for (const auto& [id, update] : expected) {
        const auto it = shown.find(id);
        converged = converged && it != shown.end() && it->second.revision == update.revision;
    }

    const auto stats = dashboard.stats();
    fmt::print("updates published: {}\n", publishers * updates_per_publisher);
    fmt::print("dashboard renders: {} (conflated away: {}, other drops: {})\n", dashboard.renders(),
               stats.drops.conflated, stats.dropped - stats.drops.conflated);
    fmt::print("every update accounted for: {}\n",
               stats.delivered + stats.dropped ==
                       static_cast<std::uint64_t>(publishers * updates_per_publisher)
                   ? "yes"
                   : "no");
    fmt::print("users online or away: {}\n", presence.online_users());
    for (const auto& [id, update] : shown) {
        if (id <= "user-04") {
            fmt::print("{:8} {:8} revision {}\n", id,
                       status_names[static_cast<std::size_t>(update.status)], update.revision);
        }
    }
    fmt::print("dashboard shows the latest state of all {} users: {}\n", users,
               converged ? "yes" : "no");
    return converged ? 0 : 1;
}
