// Uses the herald::redis and herald::redis_json components: a bridge that is started and
// stopped against a port nothing listens on (no server needed), and the JSON codec.
#include <herald/herald.hpp>
#include <herald/redis.hpp>
#include <herald/redis_json.hpp>

#include <cstdio>
#include <string>

struct Point {
    int x = 0;
    int y = 0;
};
void to_json(nlohmann::json& j, const Point& p) {
    j = nlohmann::json{{"x", p.x}, {"y", p.y}};
}
void from_json(const nlohmann::json& j, Point& p) {
    j.at("x").get_to(p.x);
    j.at("y").get_to(p.y);
}

int main() {
    const herald::redis::JsonCodec<Point> codec;
    const Point back = codec.decode(codec.encode(Point{3, 4}));
    herald::Broker broker;
    herald::redis::Options options;
    options.port = 1; // refused: the bridge backs off until stopped
    herald::redis::Bridge bridge(
        broker, options,
        herald::redis::Distribution{}.channel("chat").topic(herald::Topic<Point>{"points"}, codec));
    broker.publish("chat", "buffered, then dropped at stop");
    bridge.stop();
    const auto stats = bridge.stats();
    if (back.x != 3 || back.y != 4 || stats.dropped_shutdown != 1 || stats.connected) {
        std::fprintf(stderr, "consumer_redis: unexpected result\n");
        return 1;
    }
    std::printf("herald consumer_redis OK: %s\n",
                std::string(herald::redis::to_string(stats.state)).c_str());
    return 0;
}
