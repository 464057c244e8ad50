// Unit tests of <herald/pattern.hpp>: every corner of the three grammars, Redis's own glob test
// cases, and the Pattern value type. The differential tests in tests/conformance/ check the same
// rules against redis-server, nats-server and libmosquitto on generated inputs.

#include "test_catch.hpp"

#include <herald/broker.hpp>
#include <herald/pattern.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_set>

using namespace std::string_literals;
using namespace std::string_view_literals;
using herald::glob_match;
using herald::mqtt_match;
using herald::nats_match;

namespace {

std::string repeat(std::string_view unit, std::size_t times) {
    std::string s;
    for (std::size_t i = 0; i < times; ++i) {
        s += unit;
    }
    return s;
}

// The error a callable throws, or nothing.
template <class F>
std::optional<herald::pattern_error> error_of(F&& f) {
    try {
        f();
    } catch (const herald::pattern_error& e) {
        return e;
    }
    return std::nullopt;
}

std::size_t nats_error_position(std::string_view pattern, char separator = '.') {
    const auto e = error_of([&] { (void)herald::nats_pattern(pattern, separator); });
    REQUIRE(e.has_value());
    return e->position();
}

std::size_t mqtt_error_position(std::string_view filter) {
    const auto e = error_of([&] { (void)herald::mqtt_pattern(filter); });
    REQUIRE(e.has_value());
    return e->position();
}

// One row of a table of matcher cases: does `pattern` match `subject`?
struct MatchCase {
    std::string_view pattern;
    std::string_view subject;
    bool expected;
};

// `bytes` as a C string literal, non-printable bytes escaped, for the failure message.
std::string show(std::string_view bytes) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out = "\"";
    for (const char ch : bytes) {
        const auto b = static_cast<unsigned char>(ch);
        if (b >= 0x20 && b < 0x7f && b != '\\' && b != '"') {
            out += ch;
        } else {
            out += "\\x";
            out += hex[b >> 4];
            out += hex[b & 0xf];
        }
    }
    return out + "\"";
}

// Checks every row of `cases` against `matcher`, naming the failing row.
template <class Matcher, std::size_t N>
void check_table(std::string_view name, Matcher matcher, const MatchCase (&cases)[N]) {
    for (const MatchCase& c : cases) {
        INFO(name << "(" << show(c.pattern) << ", " << show(c.subject) << ") should be "
                  << (c.expected ? "true" : "false"));
        CHECK(matcher(c.pattern, c.subject) == c.expected);
    }
}

template <std::size_t N>
void check_globs(const MatchCase (&cases)[N]) {
    check_table(
        "glob_match", [](auto p, auto s) { return glob_match(p, s); }, cases);
}

template <std::size_t N>
void check_nats(const MatchCase (&cases)[N]) {
    check_table(
        "nats_match", [](auto p, auto s) { return nats_match(p, s); }, cases);
}

template <std::size_t N>
void check_mqtt(const MatchCase (&cases)[N]) {
    check_table(
        "mqtt_match", [](auto p, auto s) { return mqtt_match(p, s); }, cases);
}

} // namespace

// ---- globs --------------------------------------------------------------------------------------

TEST_CASE("glob: a pattern without special characters matches only the identical channel") {
    static constexpr MatchCase cases[] = {
        {"news", "news", true},
        {"news", "new", false},
        {"news", "newss", false},
        {"news", "", false},
    };
    check_globs(cases);
}

TEST_CASE("glob: matching is case-sensitive") {
    static constexpr MatchCase cases[] = {
        {"News", "news", false},
        {"[A-Z]", "a", false},
        {"[A-Z]", "Q", true},
    };
    check_globs(cases);
}

TEST_CASE("glob: a star matches any run of bytes, including none after a prefix") {
    static constexpr MatchCase cases[] = {
        {"news:*", "news:sports", true},   {"news:*", "news:", true},
        {"*:sports", "news:sports", true}, {"n*s*s", "news:sports", true},
        {"news:*", "news", false},         {"*x", "news", false},
    };
    check_globs(cases);
}

TEST_CASE("glob: a star alone does not match the empty channel, as in Redis 7.0") {
    // redis-server 7.0 delivers PUBLISH "" to PSUBSCRIBE "" but not to "*" or "**".
    static constexpr MatchCase cases[] = {
        {"*", "", false},
        {"**", "", false},
        {"*", "x", true},
    };
    check_globs(cases);
}

TEST_CASE("glob: the empty pattern matches only the empty channel") {
    CHECK(glob_match("", ""));
    CHECK_FALSE(glob_match("", "a"));
}

TEST_CASE("glob: trailing stars match the empty rest of a non-empty channel") {
    static constexpr MatchCase cases[] = {
        {"a*", "a", true},
        {"a***", "a", true},
        {"a*b*", "ab", true},
        {"a*b*", "a", false},
    };
    check_globs(cases);
}

TEST_CASE("glob: consecutive stars behave like one") {
    static constexpr MatchCase cases[] = {
        {"a**b", "ab", true},
        {"a***b", "axxb", true},
        {"a**b", "axxc", false},
    };
    check_globs(cases);
}

TEST_CASE("glob: a question mark matches exactly one byte") {
    static constexpr MatchCase cases[] = {
        {"h?llo", "hello", true}, {"h?llo", "hllo", false}, {"h?llo", "heello", false},
        {"?", "", false},         {"??", "ab", true},
    };
    check_globs(cases);
}

TEST_CASE("glob: a question mark matches a NUL byte and a byte above 0x7f") {
    CHECK(glob_match("a?b", "a\0b"s));
    CHECK(glob_match("a?b", "a\xff"
                            "b"));
}

TEST_CASE("glob: a class matches one byte of its set") {
    static constexpr MatchCase cases[] = {
        {"h[ae]llo", "hello", true},
        {"h[ae]llo", "hallo", true},
        {"h[ae]llo", "hillo", false},
        {"h[ae]llo", "hllo", false},
    };
    check_globs(cases);
}

TEST_CASE("glob: a caret class matches one byte outside its set") {
    static constexpr MatchCase cases[] = {
        {"h[^e]llo", "hallo", true},
        {"h[^e]llo", "hello", false},
        {"h[^e]llo", "hllo", false},
    };
    check_globs(cases);
}

TEST_CASE("glob: a range matches the bytes between its bounds and a reversed range is the same") {
    static constexpr MatchCase cases[] = {
        {"h[a-b]llo", "hallo", true}, {"h[a-b]llo", "hbllo", true}, {"h[a-b]llo", "hcllo", false},
        {"[z-a]", "m", true},         {"[9-0]", "5", true},         {"[z-a]", "A", false},
        {"[^a-c]", "d", true},        {"[^c-a]", "b", false},
    };
    check_globs(cases);
}

TEST_CASE("glob: a dash before the closing bracket makes a range up to ] and the class runs on") {
    // "[a-]" is a range from ']' (0x5d) to 'a' (0x61); the class is then unterminated.
    static constexpr MatchCase cases[] = {
        {"[a-]", "a", true},
        {"[a-]", "]", true},
        {"[a-]", "^", true},
        {"[a-]", "_", true},
        {"[a-]", "-", false},
        {"[a-]", "b", false},
        {"[a-]x", "ax", false}, // the 'x' is inside the
                                // class
        {"[a-]x", "x", true},
    };
    check_globs(cases);
}

TEST_CASE("glob: a dash at the start or end of an unterminated class is a literal dash") {
    static constexpr MatchCase cases[] = {
        {"[-a]", "-", true},
        {"[a-", "-", true},
        {"[a-", "a", true},
    };
    check_globs(cases);
}

TEST_CASE("glob: an empty class never matches and []] is an empty class then a literal ]") {
    static constexpr MatchCase cases[] = {
        {"[]", "a", false},  {"[]", "]", false},   {"[]", "", false},
        {"[]]", "]", false}, {"[]]", "]]", false}, {"a[]", "a", false},
    };
    check_globs(cases);
}

TEST_CASE("glob: a negated empty class matches any one byte") {
    static constexpr MatchCase cases[] = {
        {"[^]", "a", true}, {"[^]", "]", true},   {"[^]", "\0"sv, true},
        {"[^]", "", false}, {"[^]", "ab", false},
    };
    check_globs(cases);
}

TEST_CASE("glob: an exclamation mark does not negate a class") {
    static constexpr MatchCase cases[] = {
        {"[!a]", "!", true},
        {"[!a]", "a", true},
        {"[!a]", "b", false},
    };
    check_globs(cases);
}

TEST_CASE("glob: an unterminated class ends at the end of the pattern") {
    static constexpr MatchCase cases[] = {
        {"[abc", "a", true},   {"[abc", "c", true},    {"[abc", "d", false},
        {"[abc", "ab", false}, {"x[^abc", "xd", true}, {"x[^abc", "xa", false},
    };
    check_globs(cases);
}

TEST_CASE("glob: a lone bracket at the end never matches and [^ at the end matches any byte") {
    static constexpr MatchCase cases[] = {
        {"[", "[", false}, {"[", "", false},  {"a[", "a[", false},
        {"[^", "x", true}, {"[^", "^", true}, {"[^", "", false},
    };
    check_globs(cases);
}

TEST_CASE("glob: a backslash escapes the next byte outside a class") {
    static constexpr MatchCase cases[] = {
        {"a\\*b", "a*b", true}, {"a\\*b", "axb", false}, {"\\?", "?", true}, {"\\?", "x", false},
        {"\\[a]", "[a]", true}, {"\\\\", "\\", true},    {"\\a", "a", true},
    };
    check_globs(cases);
}

TEST_CASE("glob: a trailing backslash matches a literal backslash") {
    static constexpr MatchCase cases[] = {
        {"\\", "\\", true},
        {"a\\", "a\\", true},
        {"a\\", "a", false},
        {"\\", "", false},
    };
    check_globs(cases);
}

TEST_CASE("glob: a backslash inside a class escapes the next byte") {
    static constexpr MatchCase cases[] = {
        {"[\\]]", "]", true},   {"[\\]]", "\\", false}, {"[\\-a]", "-", true},
        {"[\\-a]", "a", true},  {"[\\-a]", "b", false}, // not a range: the dash was escaped
        {"[\\\\]", "\\", true}, {"[\\^]", "^", true},
    };
    check_globs(cases);
}

TEST_CASE("glob: a backslash that ends an unterminated class is a literal backslash") {
    static constexpr MatchCase cases[] = {
        {"[\\", "\\", true},
        {"[a\\", "\\", true},
        {"[a\\", "a", true},
        {"[a\\", "b", false},
    };
    check_globs(cases);
}

TEST_CASE("glob: a range bound is taken literally, even a backslash") {
    // "[a-\\]" is the range '\\'..'a' (reversed), then the class ends at ']'.
    static constexpr MatchCase cases[] = {
        {"[a-\\]", "\\", true},
        {"[a-\\]", "]", true},
        {"[a-\\]", "_", true},
        {"[a-\\]", "b", false},
    };
    check_globs(cases);
}

TEST_CASE("glob: ranges over bytes above 0x7f compare as signed char like Redis on x86-64") {
    // As signed char, 0x80..0xff are -128..-1: below NUL and every ASCII byte.
    static constexpr MatchCase cases[] = {
        {"[\x80-\xff]", "\x80", true},
        {"[\x80-\xff]", "\xc3", true},
        {"[\x80-\xff]", "a", false},
        // 0x7f..0x80 spans -128..127: every byte.
        {"[\x7f-\x80]", "a", true},
        {"[\x7f-\x80]", "\0"sv, true},
        {"[\x7f-\x80]", "\xff", true},
        // 'a'..0xff is -1..97: NUL and ASCII up to 'a', and 0xff, but not 0x80 or 'b'.
        {"[a-\xff]", "\0"sv, true},
        {"[a-\xff]", "\xff", true},
        {"[a-\xff]", "A", true},
        {"[a-\xff]", "\x80", false},
        {"[a-\xff]", "b", false},
        // Literal members are compared as bytes, so signedness does not matter there.
        {"[\xe9]", "\xe9", true},
    };
    check_globs(cases);
}

TEST_CASE("glob: embedded NUL bytes are ordinary bytes in pattern and channel") {
    static constexpr MatchCase cases[] = {
        {"a\0b"sv, "a\0b"sv, true}, {"a\0b"sv, "a", false},   {"a"sv, "a\0"sv, false},
        {"*\0"sv, "xyz\0"sv, true}, {"[\0]"sv, "\0"sv, true}, {"[^\0]"sv, "\0"sv, false},
        {"[\0-a]"sv, "A", true},
    };
    check_globs(cases);
}

TEST_CASE("glob: a pattern needing more than 1000 nested stars does not match, like Redis") {
    const std::string subject = repeat("a", 1100);
    // Each '*' that is not last nests one level; Redis gives up beyond 1000 levels.
    CHECK(glob_match(repeat("*a", 1000), subject));
    CHECK_FALSE(glob_match(repeat("*a", 1001), subject));
    CHECK(glob_match(repeat("a*", 1001), subject)); // the last '*' does not nest
    CHECK_FALSE(glob_match(repeat("a*", 1002), subject));
    CHECK(glob_match(repeat("*a", 1000) + "*", subject));
    CHECK_FALSE(glob_match(repeat("*a", 1001) + "*", subject));
    // The limit is about nesting, not length: runs of stars count once.
    CHECK(glob_match(repeat("*", 5000) + "a", "a"));
}

TEST_CASE("glob: a star after the whole channel was consumed does not count towards the limit") {
    // Once the channel is used up, trailing stars are skipped without nesting.
    // Appended, not "a" + repeat(...): GCC 12 at -O3 reports that as an overlapping memcpy
    // (-Wrestrict, a known false positive).
    std::string pattern = "a";
    pattern += repeat("*", 3000);
    CHECK(glob_match(pattern, "a"));
    CHECK(glob_match(repeat("?*", 1000), repeat("a", 1000)));
}

TEST_CASE("glob: every string is a valid glob and glob_pattern never throws") {
    const std::string odd[] = {"", "[", "]", "\\", "[^", "[a-", "[\\", "\0"s, "***", "[]]", "[!"};
    for (const std::string& p : odd) {
        CHECK_NOTHROW(herald::glob_pattern(p));
        CHECK(herald::glob_pattern(p).kind() == herald::PatternKind::glob);
    }
}

TEST_CASE("glob: glob_match is usable in constant expressions") {
    static_assert(glob_match("news:*", "news:sports"));
    static_assert(!glob_match("*", ""));
    static_assert(glob_match("[z-a]", "q"));
    SUCCEED();
}

// ---- Redis's own test cases (tests/unit/pubsub.tcl and keyspace.tcl), as Catch2 tests ---------

TEST_CASE("redis pubsub.tcl: PUBLISH/PSUBSCRIBE basics with foo.* and bar.*") {
    static constexpr MatchCase cases[] = {
        {"foo.*", "foo.1", true},  {"bar.*", "bar.1", true},     {"foo.*", "foo1", false},
        {"bar.*", "foo1", false},  {"foo.*", "barfoo.1", false}, {"bar.*", "barfoo.1", false},
        {"foo.*", "qux.1", false}, {"bar.*", "qux.1", false},
    };
    check_globs(cases);
}

TEST_CASE("redis pubsub.tcl: PUBLISH/PSUBSCRIBE with two clients on chan.*") {
    CHECK(glob_match("chan.*", "chan.foo"));
}

TEST_CASE("redis pubsub.tcl: PUBLISH/PSUBSCRIBE after PUNSUBSCRIBE uses chan1.* chan2.* chan3.*") {
    static constexpr MatchCase cases[] = {
        {"chan1.*", "chan1.hi", true},
        {"chan2.*", "chan2.hi", true},
        {"chan3.*", "chan3.hi", true},
        {"chan1.*", "chan2.hi", false},
    };
    check_globs(cases);
}

TEST_CASE("redis pubsub.tcl: Mix SUBSCRIBE and PSUBSCRIBE matches foo.bar with foo.*") {
    CHECK(glob_match("foo.*", "foo.bar"));
}

TEST_CASE("redis pubsub.tcl: keyspace notifications reach PSUBSCRIBE *") {
    static constexpr MatchCase cases[] = {
        {"*", "__keyspace@9__:foo", true},
        {"*", "__keyevent@9__:set", true},
        {"*", "__keyevent@9__:expired", true},
        {"__keyspace@*__:*", "__keyspace@9__:mylist", true},
        {"__keyspace@*__:*", "__keyevent@9__:lpush", false},
    };
    check_globs(cases);
}

TEST_CASE("redis keyspace.tcl: KEYS with pattern foo*") {
    for (const char* key : {"foo_a", "foo_b", "foo_c"}) {
        CHECK(glob_match("foo*", key));
    }
    for (const char* key : {"key_x", "key_y", "key_z"}) {
        CHECK_FALSE(glob_match("foo*", key));
    }
}

TEST_CASE("redis keyspace.tcl: KEYS * gets all keys") {
    for (const char* key : {"foo_a", "foo_b", "foo_c", "key_x", "key_y", "key_z",
                            "dlskeriewrioeuwqoirueioqwrueoqwrueqw"}) {
        CHECK(glob_match("*", key));
    }
}

TEST_CASE("redis keyspace.tcl: KEYS with hashtag") {
    for (const char* key : {"{a}x", "{a}y", "{a}z"}) {
        CHECK(glob_match("{a}*", key));
        CHECK_FALSE(glob_match("*{b}*", key));
    }
    for (const char* key : {"{b}a", "{b}b", "{b}c"}) {
        CHECK(glob_match("*{b}*", key));
        CHECK_FALSE(glob_match("{a}*", key));
    }
}

TEST_CASE("redis keyspace.tcl: regression for pattern matching long nested loops") {
    CHECK_FALSE(glob_match(repeat("a*", 20) + "b", repeat("a", 40)));
}

TEST_CASE("redis keyspace.tcl: regression for pattern matching very long nested loops") {
    CHECK_FALSE(glob_match(repeat("*?", 50000), repeat("a", 50000)));
}

// ---- NATS ---------------------------------------------------------------------------------------

TEST_CASE("nats: a star matches exactly one token") {
    static constexpr MatchCase cases[] = {
        {"a.*.c", "a.b.c", true},    {"*", "a", true},
        {"*.*", "a.b", true},        {"a.*.c", "a.c", false},
        {"a.*.c", "a.b.b.c", false}, {"a.*", "a", false},
        {"*", "a.b", false},
    };
    check_nats(cases);
}

TEST_CASE("nats: a greater-than sign matches one or more trailing tokens but not zero") {
    static constexpr MatchCase cases[] = {
        {"a.>", "a.b", true},    {"a.>", "a.b.c.d", true}, {"a.*.>", "a.b.c.d", true},
        {">", "a", true},        {">", "a.b.c", true},     {"a.>", "a", false},
        {"a.*.>", "a.b", false},
    };
    check_nats(cases);
}

TEST_CASE("nats: wildcards inside a longer token are literal bytes") {
    static constexpr MatchCase cases[] = {
        {"a*", "a*", true},           {"a*", "ab", false},
        {"foo.b>r", "foo.b>r", true}, {"foo.b>r", "foo.bar", false},
        {"*.a>", "x.a>", true},
    };
    check_nats(cases);
}

TEST_CASE("nats: a literal pattern matches only the identical subject") {
    static constexpr MatchCase cases[] = {
        {"foo.bar", "foo.bar", true},
        {"foo.bar", "foo.baz", false},
        {"foo.bar", "foo.bar.baz", false},
        {"foo.bar", "foo", false},
    };
    check_nats(cases);
}

TEST_CASE("nats: a subject that is empty or has an empty token matches nothing") {
    for (const char* subject : {"", ".", "a.", ".a", "a..b", "a.b."}) {
        CHECK_FALSE(nats_match(">", subject));
        CHECK_FALSE(nats_match("*", subject));
        CHECK_FALSE(nats_match("a.>", subject));
        CHECK_FALSE(nats_match("*.*", subject));
    }
}

TEST_CASE("nats: star and greater-than tokens in a subject are ordinary tokens") {
    // As in nats-server: publishing to "foo.*" reaches "foo.*" and "foo.>" (wildcards match any
    // token) but not "foo.bar".
    static constexpr MatchCase cases[] = {
        {"foo.*", "foo.*", true},    {"foo.>", "foo.*", true}, {"foo.*", "foo.>", true},
        {"foo.bar", "foo.*", false}, {"*", ">", true},
    };
    check_nats(cases);
}

TEST_CASE("nats: NUL, high bytes and whitespace are ordinary token bytes") {
    static constexpr MatchCase cases[] = {
        {"a.*", "a.\0"sv, true},
        {"a\0b.c"sv, "a\0b.c"sv, true},
        {"caf\xc3\xa9.*", "caf\xc3\xa9.x", true},
        {"a b.*", "a b.c", true},
    };
    check_nats(cases);
}

TEST_CASE("nats: an empty pattern is rejected at position 0") {
    CHECK(nats_error_position("") == 0);
    REQUIRE_THROWS_AS(nats_match("", "a"), herald::pattern_error);
}

TEST_CASE("nats: an empty token is rejected at the position where it starts") {
    CHECK(nats_error_position(".a") == 0);
    CHECK(nats_error_position("a..b") == 2);
    CHECK(nats_error_position("a.") == 2);
    CHECK(nats_error_position(".") == 0);
    CHECK(nats_error_position("a.*.") == 4);
}

TEST_CASE("nats: a greater-than sign before the last token is rejected at its position") {
    CHECK(nats_error_position("a.>.b") == 2);
    CHECK(nats_error_position(">.a") == 0);
    CHECK(nats_error_position("a.>.>") == 2);
    REQUIRE_THROWS_AS(herald::nats_pattern("a.>.b"), herald::pattern_error);
    REQUIRE_THROWS_AS(nats_match("a.>.b", "a.x.b"), herald::pattern_error);
}

TEST_CASE("nats: a custom separator splits tokens and makes the dot an ordinary byte") {
    CHECK(nats_match("events:*:created", "events:user.42:created", ':'));
    CHECK_FALSE(nats_match("events:*:created", "events:user:42:created", ':'));
    CHECK(nats_match("a/>", "a/b/c", '/'));
    CHECK(nats_match("a.b", "a.b", ':'));
    CHECK_FALSE(nats_match("a.*", "a.b", ':'));
    CHECK(nats_error_position("a::b", ':') == 2);
    CHECK(nats_match("a\0*"s, "a\0x"s, '\0'));
    const herald::Pattern p = herald::nats_pattern("a:>", ':');
    CHECK(p.separator() == ':');
    CHECK(p.matches("a:b:c"));
    CHECK_FALSE(p.matches("a.b"));
}

TEST_CASE("nats: a wildcard character cannot be the separator") {
    REQUIRE_THROWS_AS(herald::nats_pattern("a*b", '*'), herald::pattern_error);
    REQUIRE_THROWS_AS(herald::nats_pattern("a>b", '>'), herald::pattern_error);
    REQUIRE_THROWS_AS(nats_match("a", "a", '*'), herald::pattern_error);
}

// ---- MQTT ---------------------------------------------------------------------------------------

TEST_CASE("mqtt: the examples of the MQTT specification match as specified") {
    // MQTT 3.1.1 section 4.7.1.2 and 4.7.1.3.
    static constexpr MatchCase cases[] = {
        {"sport/tennis/player1/#", "sport/tennis/player1", true},
        {"sport/tennis/player1/#", "sport/tennis/player1/ranking", true},
        {"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true},
        {"sport/#", "sport", true},
        {"sport/tennis/+", "sport/tennis/player1", true},
        {"sport/tennis/+", "sport/tennis/player2", true},
        {"sport/tennis/+", "sport/tennis/player1/ranking", false},
        {"sport/+", "sport", false},
        {"sport/+", "sport/", true},
        {"+/+", "/finance", true},
        {"/+", "/finance", true},
        {"+", "/finance", false},
    };
    check_mqtt(cases);
}

TEST_CASE("mqtt: a plus matches exactly one level, including an empty one") {
    static constexpr MatchCase cases[] = {
        {"a/+/c", "a/b/c", true}, {"a/+/c", "a//c", true}, {"+", "a", true},
        {"+/+", "/", true},       {"a/+/c", "a/c", false}, {"a/+", "a/b/c", false},
    };
    check_mqtt(cases);
}

TEST_CASE("mqtt: a hash matches any number of trailing levels and also the parent level") {
    static constexpr MatchCase cases[] = {
        {"a/#", "a", true},    {"a/#", "a/", true},    {"a/#", "a/b/c", true},
        {"+/#", "a", true},    {"a/+/#", "a/b", true}, {"a/+/#", "a/", true},
        {"a/+/#", "a", false}, {"a/#", "ab", false},   {"a/b/#", "a", false},
    };
    check_mqtt(cases);
}

TEST_CASE("mqtt: a hash alone matches every topic that does not start with a dollar") {
    static constexpr MatchCase cases[] = {
        {"#", "a", true},  {"#", "/", true},     {"#", "a/b/c", true},
        {"#", "a$", true}, {"#", "$SYS", false}, {"#", "$SYS/broker/load", false},
    };
    check_mqtt(cases);
}

TEST_CASE("mqtt: filters starting with a wildcard do not match topics starting with a dollar") {
    static constexpr MatchCase cases[] = {
        {"+/monitor/Clients", "$SYS/monitor/Clients", false},
        {"+", "$", false},
        {"+/#", "$SYS/x", false},
        {"$SYS/monitor/+", "$SYS/monitor/Clients", true},
        {"$SYS/#", "$SYS", true},
        {"$SYS/#", "$SYS/broker/load", true},
        {"a/+", "a/$b", true}, // only the first level is special
    };
    check_mqtt(cases);
}

TEST_CASE("mqtt: an invalid topic matches nothing") {
    for (const std::string& topic : {""s, "a/+"s, "a/#"s, "+"s, "#"s, "a/b+"s, "a\0b"s}) {
        CHECK_FALSE(mqtt_match("#", topic));
        CHECK_FALSE(mqtt_match("+/+", topic));
        CHECK_FALSE(mqtt_match("a/#", topic));
    }
    // A topic spelled like a filter is not matched by that filter.
    static constexpr MatchCase cases[] = {
        {"a/+", "a/+", false},
        {"a/#", "a/#", false},
        {"+", "+", false},
    };
    check_mqtt(cases);
}

TEST_CASE("mqtt: a plus must occupy a whole level") {
    CHECK(mqtt_error_position("a+") == 1);
    CHECK(mqtt_error_position("+a") == 0);
    CHECK(mqtt_error_position("a/b+") == 3);
    CHECK(mqtt_error_position("a/++") == 2);
    CHECK(mqtt_error_position("+#") == 0);
    REQUIRE_THROWS_AS(mqtt_match("a+", "a+"), herald::pattern_error);
}

TEST_CASE("mqtt: a hash must be a whole level and the last one") {
    CHECK(mqtt_error_position("a/#/b") == 2);
    CHECK(mqtt_error_position("#/") == 0);
    CHECK(mqtt_error_position("a#") == 1);
    CHECK(mqtt_error_position("#a") == 0);
    CHECK(mqtt_error_position("a/b#") == 3);
    REQUIRE_THROWS_AS(herald::mqtt_pattern("a/#/b"), herald::pattern_error);
}

TEST_CASE("mqtt: an empty filter is rejected") {
    CHECK(mqtt_error_position("") == 0);
    REQUIRE_THROWS_AS(mqtt_match("", "a"), herald::pattern_error);
}

TEST_CASE("mqtt: a NUL byte in a filter is rejected at its position") {
    CHECK(mqtt_error_position("a/\0"s) == 2);
}

TEST_CASE("mqtt: empty levels and bytes above 0x7f are allowed in filters") {
    CHECK_NOTHROW(herald::mqtt_pattern("/"));
    CHECK_NOTHROW(herald::mqtt_pattern("//+//#"));
    static constexpr MatchCase cases[] = {
        {"caf\xc3\xa9/+", "caf\xc3\xa9/x", true},
        {"a//b", "a//b", true},
        {"a//b", "a/b", false},
    };
    check_mqtt(cases);
}

// ---- pattern_error ------------------------------------------------------------------------------

TEST_CASE("pattern_error: the message names the grammar, the pattern and the position") {
    const auto e = error_of([] { (void)herald::nats_pattern("a.>.b"); });
    REQUIRE(e.has_value());
    CHECK(std::string(e->what()) ==
          "herald: invalid NATS pattern \"a.>.b\" at position 2: '>' must be the last token");
    CHECK(e->pattern() == "a.>.b");
    CHECK(e->position() == 2);
    CHECK(e->kind() == herald::PatternKind::nats);

    const auto m = error_of([] { (void)herald::mqtt_pattern("sensors/+x"); });
    REQUIRE(m.has_value());
    CHECK(std::string(m->what()) ==
          "herald: invalid MQTT pattern \"sensors/+x\" at position 8: '+' must be a whole level");
}

TEST_CASE("pattern_error: unprintable bytes are escaped in the message but kept in pattern()") {
    const std::string bad = "a\x01..\xff";
    const auto e = error_of([&] { (void)herald::nats_pattern(bad); });
    REQUIRE(e.has_value());
    CHECK(std::string(e->what()).find("\"a\\x01..\\xff\"") != std::string::npos);
    CHECK(e->pattern() == bad);
}

TEST_CASE("pattern_error: is a std::invalid_argument and its copies share the pattern") {
    static_assert(std::is_base_of_v<std::invalid_argument, herald::pattern_error>);
    static_assert(std::is_nothrow_copy_constructible_v<herald::pattern_error>);
    const auto e = error_of([] { (void)herald::mqtt_pattern("a/#/b"); });
    REQUIRE(e.has_value());
    const herald::pattern_error copy = *e;
    CHECK(copy.pattern() == "a/#/b");
    CHECK(copy.pattern().data() == e->pattern().data());
    REQUIRE_THROWS_AS(herald::mqtt_pattern("#/x"), std::invalid_argument);
}

// ---- Pattern ------------------------------------------------------------------------------------

TEST_CASE("Pattern: strings convert implicitly to glob patterns") {
    const auto take = [](const herald::Pattern& p) { return p; };
    CHECK(take("alerts:*").kind() == herald::PatternKind::glob);
    CHECK(take(std::string("alerts:*")).text() == "alerts:*");
    CHECK(take(std::string_view("alerts:*")).matches("alerts:cpu"));
    CHECK(herald::Pattern().matches(""));
    CHECK(herald::Pattern().separator() == '\0');
}

TEST_CASE("Pattern: matches uses the pattern's own grammar") {
    const herald::Pattern glob = "a.*";
    const herald::Pattern nats = herald::nats_pattern("a.*");
    const herald::Pattern mqtt = herald::mqtt_pattern("a/+");
    CHECK(glob.matches("a.b.c"));
    CHECK_FALSE(nats.matches("a.b.c"));
    CHECK(nats.matches("a.b"));
    CHECK(mqtt.matches("a/b"));
    CHECK_FALSE(mqtt.matches("a.b"));
    CHECK(nats.kind() == herald::PatternKind::nats);
    CHECK(nats.separator() == '.');
    CHECK(mqtt.kind() == herald::PatternKind::mqtt);
    CHECK(mqtt.separator() == '/');
}

TEST_CASE("Pattern: equality compares kind, text and separator") {
    CHECK(herald::Pattern("a.*") == herald::glob_pattern("a.*"));
    CHECK_FALSE(herald::Pattern("a.*") == herald::nats_pattern("a.*"));
    CHECK_FALSE(herald::nats_pattern("a:*", ':') == herald::nats_pattern("a:*"));
    CHECK(herald::nats_pattern("a.*") == herald::nats_pattern("a.*"));
    CHECK(herald::Pattern("a/+") != herald::mqtt_pattern("a/+"));
}

TEST_CASE("Pattern: equal patterns hash equally and deduplicate in unordered containers") {
    std::unordered_set<herald::Pattern> set;
    set.insert("news:*");
    set.insert(herald::glob_pattern("news:*"));
    set.insert(herald::nats_pattern("news.*"));
    set.insert(herald::nats_pattern("news.*"));
    set.insert(herald::nats_pattern("news.*", ':'));
    set.insert(herald::mqtt_pattern("news/+"));
    CHECK(set.size() == 4);
    CHECK(std::hash<herald::Pattern>{}(herald::nats_pattern("x.>")) ==
          herald::nats_pattern("x.>").hash());
}

TEST_CASE("Pattern: the factories reject invalid token patterns and keep valid ones verbatim") {
    REQUIRE_THROWS_AS(herald::nats_pattern("a..b"), herald::pattern_error);
    REQUIRE_THROWS_AS(herald::mqtt_pattern("a/#/b"), herald::pattern_error);
    CHECK(herald::nats_pattern("events.*.created").text() == "events.*.created");
    CHECK(herald::mqtt_pattern("sensors/+/temp/#").text() == "sensors/+/temp/#");
}

TEST_CASE("pattern kinds have readable names") {
    CHECK(herald::to_string(herald::PatternKind::glob) == "glob");
    CHECK(herald::to_string(herald::PatternKind::nats) == "NATS");
    CHECK(herald::to_string(herald::PatternKind::mqtt) == "MQTT");
}

TEST_CASE("mqtt: filters and topics longer than 65,535 bytes are rejected and never matched") {
    const std::string longest_topic(65535, 'a');
    const std::string too_long_topic(65536, 'a');
    CHECK(herald::mqtt_match("#", longest_topic));
    CHECK_FALSE(herald::mqtt_match("#", too_long_topic));
    CHECK_FALSE(herald::mqtt_match("+", too_long_topic));

    const std::string longest_filter = std::string(65533, 'a') + "/#";
    const std::string too_long_filter = std::string(65534, 'a') + "/#";
    CHECK_NOTHROW(herald::mqtt_pattern(longest_filter));
    try {
        (void)herald::mqtt_pattern(too_long_filter);
        FAIL("a filter of 65,536 bytes was accepted");
    } catch (const herald::pattern_error& e) {
        CHECK(e.position() == 65535);
        CHECK(std::string(e.what()).find("65,535 bytes") != std::string::npos);
    }
    CHECK_THROWS_AS(herald::mqtt_match(too_long_filter, "a"), herald::pattern_error);

    herald::Broker broker;
    int got = 0;
    auto s = broker.psubscribe(herald::mqtt_pattern("#"), [&](const std::string&) { ++got; });
    CHECK(broker.publish(longest_topic, "x") == 1);
    CHECK(broker.publish(too_long_topic, "x") == 0);
    CHECK(got == 1);
}
