// What goes upstream, without a server: escaped prefixes, superset globs of token patterns
// (checked against the matchers: every channel the pattern matches, the glob matches too) and
// the hand-built PUBLISH command against hiredis's formatter.

#include "test_catch.hpp"

#include <herald/redis.hpp>

#include <string>
#include <vector>

using herald::glob_escape;
using herald::detail::redis::superset_glob;

TEST_CASE("redis upstream: a prefix is escaped so that the glob matches it literally") {
    CHECK(glob_escape("app[1]:") == "app\\[1\\]:");
    CHECK(glob_escape("a*b?c\\d]") == "a\\*b\\?c\\\\d\\]");
    CHECK(herald::glob_match(glob_escape("app[1]:") + "*", "app[1]:x"));
    CHECK(!herald::glob_match(glob_escape("app[1]:") + "*", "app1:x"));
}

TEST_CASE("redis upstream: token patterns become a superset glob with literals escaped") {
    CHECK(superset_glob(herald::Pattern("news:*")) == "news:*");
    CHECK(superset_glob(herald::nats_pattern("ev.*.created")) == "ev.*.created");
    CHECK(superset_glob(herald::nats_pattern("a.>")) == "a.*");
    CHECK(superset_glob(herald::nats_pattern("a?.b", '.')) == "a\\?.b");
    CHECK(superset_glob(herald::nats_pattern("x?*", '?')) == "x\\?*");
    CHECK(superset_glob(herald::mqtt_pattern("s/+/t[1]/#")) == "s/*/t\\[1\\]*");
    CHECK(superset_glob(herald::mqtt_pattern("#")) == "*");
    CHECK(superset_glob(herald::mqtt_pattern("a\\/#")) == "a\\\\*");

    const std::vector<std::pair<herald::Pattern, std::vector<std::string>>> cases = {
        {herald::nats_pattern("ev.*.created"), {"ev.a.created", "ev.[x].created"}},
        {herald::nats_pattern("a.>"), {"a.b", "a.b.c"}},
        {herald::mqtt_pattern("s/+/t[1]/#"), {"s/x/t[1]", "s/x/t[1]/", "s/x/t[1]/a/b", "s//t[1]"}},
        {herald::mqtt_pattern("sport/#"), {"sport", "sport/tennis", "sport/"}},
        {herald::mqtt_pattern("+/+"), {"a/b", "/b", "a/", "/"}},
    };
    for (const auto& [pattern, channels] : cases) {
        const std::string glob = superset_glob(pattern);
        for (const auto& channel : channels) {
            INFO(pattern.text() << " ~ " << glob << " on " << channel);
            REQUIRE(pattern.matches(channel));
            CHECK(herald::glob_match(glob, channel));
        }
    }
}

TEST_CASE("redis upstream: the hand-built PUBLISH equals hiredis's formatting") {
    using herald::detail::redis::format_command;
    using herald::detail::redis::format_publish;
    const std::string binary("a\0\r\nb", 5);
    CHECK(format_publish("p:", "chan", binary) == format_command({"PUBLISH", "p:chan", binary}));
    CHECK(format_publish("", "", "") == format_command({"PUBLISH", "", ""}));
    const std::string big(100000, 'x');
    CHECK(format_publish("prefix", "c", big) == format_command({"PUBLISH", "prefixc", big}));
}
