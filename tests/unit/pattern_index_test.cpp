// Unit tests of herald::detail::PatternIndex: it must report exactly what a naive scan of the same
// patterns reports, do only a handful of evaluations per subject however many patterns it holds,
// and keep one entry per distinct pattern.

#include "test_catch.hpp"
#include "test_random.hpp"

#include <herald/detail/pattern_index.hpp>
#include <herald/pattern.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

using herald::Pattern;
using herald::detail::PatternIndex;

namespace {

using herald_test::Random;

bool pattern_less(const Pattern& a, const Pattern& b) {
    return std::make_tuple(a.kind(), a.separator(), a.text()) <
           std::make_tuple(b.kind(), b.separator(), b.text());
}

std::vector<Pattern> sorted(std::vector<Pattern> v) {
    std::sort(v.begin(), v.end(), pattern_less);
    return v;
}

template <class Value>
std::vector<Pattern> matches_of(const PatternIndex<Value>& index, std::string_view subject) {
    std::vector<Pattern> out;
    index.match(subject, [&](const Pattern& p, Value&) { out.push_back(p); });
    return out;
}

// A glob, NATS or MQTT pattern built from a small alphabet, so that patterns and subjects overlap
// often. Returns false if the generated token pattern is invalid.
bool random_pattern(Random& rng, Pattern& out) {
    static const std::vector<std::string> glob_pieces = {
        "a", "b", "ab", "*", "?", "[ab]", "[^a]", ".", "/", ":", "\\*", "c", "$s", "a.", "*.*"};
    static const std::vector<std::string> nats_tokens = {"a", "b", "ab", "*", "*", ">", "c", ""};
    static const std::vector<std::string> mqtt_levels = {"a", "b", "ab", "+", "+", "#", "", "$s"};
    const std::size_t count = 1 + rng.below(4);
    std::string text;
    try {
        switch (rng.below(4)) {
        case 0:
        case 1:
            for (std::size_t i = 0; i < count; ++i) {
                text += rng.pick(glob_pieces);
            }
            out = herald::glob_pattern(text);
            return true;
        case 2: {
            const char separator = rng.below(3) == 0 ? ':' : '.';
            for (std::size_t i = 0; i < count; ++i) {
                text += (i > 0 ? std::string(1, separator) : "") + rng.pick(nats_tokens);
            }
            out = herald::nats_pattern(text, separator);
            return true;
        }
        default:
            for (std::size_t i = 0; i < count; ++i) {
                text += (i > 0 ? "/" : "") + rng.pick(mqtt_levels);
            }
            out = herald::mqtt_pattern(text);
            return true;
        }
    } catch (const herald::pattern_error&) {
        return false;
    }
}

std::string random_subject(Random& rng) {
    static const std::vector<std::string> tokens = {"a", "b", "ab", "c", "$s", "", "*", "+"};
    static const std::vector<std::string> separators = {".", ".", "/", "/", ":"};
    std::string s = rng.pick(tokens);
    const std::size_t more = rng.below(4);
    for (std::size_t i = 0; i < more; ++i) {
        s += rng.pick(separators); // two statements: the draw order must not depend on the
        s += rng.pick(tokens);     // compiler's order of evaluation
    }
    return s;
}

} // namespace

TEST_CASE("pattern index: matching equals a naive scan on random patterns and subjects") {
    Random rng(20261123);
    PatternIndex<int> index;
    std::unordered_map<Pattern, int> reference;
    std::vector<Pattern> known;
    std::size_t total_matches = 0;

    for (int round = 0; round < 40; ++round) {
        // Insert some, erase some, then compare on a batch of subjects.
        for (int i = 0; i < 60; ++i) {
            Pattern p;
            if (!random_pattern(rng, p)) {
                continue;
            }
            const int value = round * 1000 + i;
            index.insert(p, value);
            reference[p] = value;
            known.push_back(p);
        }
        for (int i = 0; i < 25 && !known.empty(); ++i) {
            const Pattern& victim = rng.pick(known);
            CHECK(index.erase(victim) == (reference.erase(victim) == 1));
        }
        REQUIRE(index.size() == reference.size());

        for (int i = 0; i < 200; ++i) {
            const std::string subject = random_subject(rng);
            std::vector<Pattern> expected;
            for (const auto& [pattern, value] : reference) {
                if (pattern.matches(subject)) {
                    expected.push_back(pattern);
                }
            }
            std::vector<Pattern> got;
            index.match(subject, [&](const Pattern& p, int& value) {
                got.push_back(p);
                CHECK(value == reference.at(p));
            });
            total_matches += got.size();
            INFO("subject " << subject);
            REQUIRE(sorted(got) == sorted(expected));
        }
    }
    CHECK(total_matches > 10000); // the comparison was not vacuous
}

TEST_CASE("pattern index: find returns the stored value and null for unknown patterns") {
    PatternIndex<std::string> index;
    index.insert("news:*", "glob");
    index.insert(herald::nats_pattern("news.*"), "nats");
    index.insert(herald::mqtt_pattern("news/#"), "mqtt");
    REQUIRE(index.find("news:*") != nullptr);
    CHECK(*index.find("news:*") == "glob");
    CHECK(*index.find(herald::nats_pattern("news.*")) == "nats");
    CHECK(*index.find(herald::mqtt_pattern("news/#")) == "mqtt");
    CHECK(index.find("news:") == nullptr);
    CHECK(index.find("news:**") == nullptr);
    CHECK(index.find(herald::nats_pattern("news.>")) == nullptr);
    CHECK(index.find(herald::nats_pattern("news:*", ':')) == nullptr);
    CHECK(index.find(herald::mqtt_pattern("news/+")) == nullptr);
    const PatternIndex<std::string>& const_index = index;
    CHECK(*const_index.find("news:*") == "glob");
}

TEST_CASE("pattern index: identical patterns share one entry") {
    PatternIndex<int> index;
    auto [first, inserted] = index.try_emplace(herald::nats_pattern("a.*"), 1);
    CHECK(inserted);
    auto [second, again] = index.try_emplace(herald::nats_pattern("a.*"), 2);
    CHECK_FALSE(again);
    CHECK(first == second);
    CHECK(*second == 1);
    CHECK(index.size() == 1);

    int& replaced = index.insert(herald::nats_pattern("a.*"), 3);
    CHECK(&replaced == first);
    CHECK(replaced == 3);
    CHECK(index.size() == 1);

    index.insert("g*", 1);
    index.insert(std::string("g*"), 2);
    index.insert(herald::glob_pattern("g*"), 3);
    CHECK(index.size() == 2);
    CHECK(matches_of(index, "a.b").size() == 1);
    CHECK(matches_of(index, "gx").size() == 1);
}

TEST_CASE("pattern index: patterns with the same text in different grammars are different") {
    PatternIndex<int> index;
    index.insert("a.*", 1);                            // glob
    index.insert(herald::nats_pattern("a.*"), 2);      // NATS, '.'
    index.insert(herald::nats_pattern("a.*", ':'), 3); // NATS, ':' (one token "a.*")
    CHECK(index.size() == 3);
    std::vector<int> values;
    index.match("a.b", [&](const Pattern&, int& v) { values.push_back(v); });
    std::sort(values.begin(), values.end());
    CHECK(values == std::vector<int>{1, 2});
    values.clear();
    index.match("a.*", [&](const Pattern&, int& v) { values.push_back(v); });
    std::sort(values.begin(), values.end());
    CHECK(values == std::vector<int>{1, 2, 3});
}

TEST_CASE("pattern index: erase removes exactly one pattern and later matches skip it") {
    PatternIndex<int> index;
    index.insert("news:*", 1);
    index.insert("news:[a-z]*", 2); // same literal prefix, same bucket
    index.insert(herald::nats_pattern("news.*.x"), 3);
    index.insert(herald::nats_pattern("news.>"), 4);
    index.insert(herald::mqtt_pattern("news/+"), 5);
    index.insert(herald::mqtt_pattern("news/#"), 6);

    CHECK(index.erase("news:*"));
    CHECK_FALSE(index.erase("news:*"));
    CHECK(index.find("news:*") == nullptr);
    CHECK(*index.find("news:[a-z]*") == 2);
    CHECK(sorted(matches_of(index, "news:sports")) == std::vector<Pattern>{"news:[a-z]*"});

    CHECK(index.erase(herald::nats_pattern("news.*.x")));
    CHECK(matches_of(index, "news.a.x") == std::vector<Pattern>{herald::nats_pattern("news.>")});
    CHECK_FALSE(index.erase(herald::nats_pattern("news.*")));
    CHECK_FALSE(index.erase(herald::nats_pattern("news")));

    CHECK(index.erase(herald::mqtt_pattern("news/#")));
    CHECK(matches_of(index, "news").empty());
    CHECK(matches_of(index, "news/a") == std::vector<Pattern>{herald::mqtt_pattern("news/+")});

    CHECK(index.size() == 3);
    CHECK(index.erase("news:[a-z]*"));
    CHECK(index.erase(herald::nats_pattern("news.>")));
    CHECK(index.erase(herald::mqtt_pattern("news/+")));
    CHECK(index.empty());
    CHECK(matches_of(index, "news.a.x").empty());

    // Everything can come back after the tries were pruned away.
    index.insert(herald::nats_pattern("news.*.x"), 7);
    CHECK(matches_of(index, "news.a.x").size() == 1);
}

TEST_CASE("pattern index: globs with one literal prefix match in insertion order") {
    PatternIndex<int> index;
    const auto order = [&] {
        std::vector<int> got;
        index.match("k:x", [&](const Pattern&, int& v) { got.push_back(v); });
        return got;
    };
    index.insert("k:*", 1);
    index.insert("k:?", 2);
    index.insert("k:[x]", 3);
    index.insert("k:[^y]", 4);
    CHECK(order() == std::vector<int>{1, 2, 3, 4});
    CHECK(index.erase("k:[^y]")); // the last
    index.insert("k:?*", 5);
    CHECK(order() == std::vector<int>{1, 2, 3, 5});
    CHECK(index.erase("k:*")); // the first
    CHECK(order() == std::vector<int>{2, 3, 5});
    CHECK(index.erase("k:[x]")); // one in the middle
    CHECK(order() == std::vector<int>{2, 5});
    index.insert("k:*", 6);
    CHECK(order() == std::vector<int>{2, 5, 6});
    CHECK(index.erase("k:?*"));
    CHECK(index.erase("k:?"));
    CHECK(order() == std::vector<int>{6});
    CHECK(index.erase("k:*"));
    CHECK(order().empty());
    index.insert("k:?", 7);
    CHECK(order() == std::vector<int>{7});
}

TEST_CASE("pattern index: values keep their address while other patterns come and go") {
    PatternIndex<int> index;
    int* kept = &index.insert(herald::nats_pattern("keep.*"), 42);
    for (int i = 0; i < 1000; ++i) {
        index.insert(herald::nats_pattern("churn." + std::to_string(i)), i);
        index.insert("churn:" + std::to_string(i) + "*", i);
    }
    for (int i = 0; i < 1000; ++i) {
        index.erase(herald::nats_pattern("churn." + std::to_string(i)));
    }
    CHECK(index.find(herald::nats_pattern("keep.*")) == kept);
    CHECK(*kept == 42);
}

TEST_CASE("pattern index: token tries with long tokens and heavy churn match like a naive scan") {
    // Tokens around the size a trie node keeps inline (11 bytes) and far beyond it; enough
    // patterns that the node table grows several times and erasing closes gaps in it; node ids
    // freed by erased patterns are reused by later ones.
    static const std::vector<std::string> tokens = {"a",
                                                    "b",
                                                    "ab",
                                                    "tenletters",
                                                    "elevenchars",
                                                    "twelve-chars",
                                                    "*",
                                                    std::string(40, 'x'),
                                                    std::string(40, 'y'),
                                                    "+"};
    Random rng(4711);
    PatternIndex<int> index;
    std::unordered_map<Pattern, int> reference;
    std::vector<Pattern> known;
    const auto subject_of = [&](std::size_t depth, char separator) {
        std::string s;
        for (std::size_t i = 0; i < depth; ++i) {
            s += (i > 0 ? std::string(1, separator) : "") + rng.pick(tokens);
        }
        return s;
    };
    for (int round = 0; round < 8; ++round) {
        for (int i = 0; i < 600; ++i) {
            std::string text = subject_of(1 + rng.below(5), '.');
            if (rng.below(4) == 0) {
                text += ".>";
            }
            Pattern p;
            try {
                p = herald::nats_pattern(text);
            } catch (const herald::pattern_error&) {
                continue;
            }
            index.insert(p, i);
            reference[p] = i;
            known.push_back(p);
        }
        for (int i = 0; i < 500 && !known.empty(); ++i) {
            const Pattern& victim = rng.pick(known);
            CHECK(index.erase(victim) == (reference.erase(victim) == 1));
        }
        REQUIRE(index.size() == reference.size());
        for (int i = 0; i < 300; ++i) {
            const std::string subject = subject_of(1 + rng.below(6), '.');
            std::vector<Pattern> expected;
            for (const auto& entry : reference) {
                if (entry.first.matches(subject)) {
                    expected.push_back(entry.first);
                }
            }
            INFO("subject " << subject);
            REQUIRE(sorted(matches_of(index, subject)) == sorted(expected));
        }
        for (const auto& entry : reference) {
            const int* found = index.find(entry.first);
            REQUIRE(found != nullptr);
            CHECK(*found == entry.second);
        }
    }
    for (const auto& entry : reference) {
        CHECK(index.erase(entry.first));
    }
    CHECK(index.empty());
    CHECK(matches_of(index, "a.b").empty());
}

TEST_CASE("pattern index: globs match the same after their prefixes churn") {
    // Erasing most prefixes and adding others rebuilds the prefix filter on the way; a prefix
    // must never be filtered out while it has a glob.
    PatternIndex<int> index;
    for (int i = 0; i < 10000; ++i) {
        index.insert("old:" + std::to_string(i) + ":*", i);
    }
    for (int i = 0; i < 10000; ++i) {
        if (i % 100 != 0) {
            REQUIRE(index.erase("old:" + std::to_string(i) + ":*"));
        }
    }
    for (int i = 0; i < 3000; ++i) {
        index.insert("new:" + std::to_string(i) + ":?", -i);
    }
    REQUIRE(index.size() == 100 + 3000);
    for (int i = 0; i < 10000; ++i) {
        const std::vector<Pattern> got = matches_of(index, "old:" + std::to_string(i) + ":x");
        CHECK(got.size() == (i % 100 == 0 ? 1U : 0U));
    }
    for (int i = 0; i < 3000; ++i) {
        CHECK(matches_of(index, "new:" + std::to_string(i) + ":x").size() == 1);
    }
}

TEST_CASE("pattern index: an extracted entry keeps its value until destroyed, unreachable") {
    PatternIndex<std::string> index;
    for (const Pattern& p : {Pattern("news:*"), Pattern("news:*x"), herald::nats_pattern("a.*"),
                             herald::mqtt_pattern("a/#")}) {
        std::string* value = &index.insert(p, "value of " + p.text());
        const std::size_t before = index.size();
        const auto taken = index.extract(p);
        REQUIRE(taken);
        CHECK(index.size() == before - 1);
        CHECK(index.find(p) == nullptr);
        CHECK(matches_of(index, "news:x").size() + matches_of(index, "a.b").size() +
                  matches_of(index, "a/b").size() ==
              index.size());
        CHECK(*value == "value of " + p.text()); // still alive, at the same address
        CHECK_FALSE(index.extract(p));
        taken.destroy(taken.entry);
    }
    CHECK(index.empty());
}

TEST_CASE("pattern index: 100,000 sensor globs cost a handful of evaluations per publish") {
    PatternIndex<int> index;
    for (int id = 0; id < 100000; ++id) {
        index.insert("sensor:" + std::to_string(id) + ":*", id);
    }
    index.insert("*:alarm", -1); // a glob starting with a wildcard: evaluated on every publish
    REQUIRE(index.size() == 100001);

    for (const int id : {0, 7, 4242, 99999}) {
        const std::uint64_t before = index.evaluations();
        std::vector<int> got;
        index.match("sensor:" + std::to_string(id) + ":temp",
                    [&](const Pattern&, int& v) { got.push_back(v); });
        CHECK(got == std::vector<int>{id});
        CHECK(index.evaluations() - before <= 10);
    }
    const std::uint64_t before = index.evaluations();
    std::vector<int> got;
    index.match("sensor:12:alarm", [&](const Pattern&, int& v) { got.push_back(v); });
    std::sort(got.begin(), got.end());
    CHECK(got == std::vector<int>{-1, 12});
    CHECK(index.evaluations() - before <= 10);

    const std::uint64_t quiet = index.evaluations();
    CHECK(matches_of(index, "unrelated:channel").empty());
    CHECK(matches_of(index, "sensor:100000:temp").empty());
    CHECK(index.evaluations() - quiet <= 4);
}

TEST_CASE("pattern index: 100,000 sensor subject patterns cost a handful of evaluations") {
    PatternIndex<int> index;
    for (int id = 0; id < 100000; ++id) {
        index.insert(herald::nats_pattern("sensor." + std::to_string(id) + ".*"), id);
        index.insert(herald::mqtt_pattern("sensor/" + std::to_string(id) + "/#"), -id);
    }
    index.insert(herald::nats_pattern("*.*.alarm"), 1000000);
    REQUIRE(index.size() == 200001);

    for (const int id : {0, 4242, 99999}) {
        const std::uint64_t before = index.evaluations();
        std::vector<int> got;
        index.match("sensor." + std::to_string(id) + ".temp",
                    [&](const Pattern&, int& v) { got.push_back(v); });
        CHECK(got == std::vector<int>{id});
        index.match("sensor/" + std::to_string(id) + "/temp/celsius",
                    [&](const Pattern&, int& v) { got.push_back(v); });
        CHECK(got == std::vector<int>{id, -id});
        CHECK(index.evaluations() - before <= 10);
    }
    const std::uint64_t before = index.evaluations();
    CHECK(matches_of(index, "sensor.5.alarm").size() == 2);
    CHECK(matches_of(index, "sensor.5").empty());
    CHECK(matches_of(index, "sensor.100000.temp").empty());
    CHECK(index.evaluations() - before <= 10);
}

TEST_CASE("pattern index: the match order is the same for the same history") {
    const auto build = [] {
        PatternIndex<int> index;
        Random rng(7);
        for (int i = 0; i < 500; ++i) {
            Pattern p;
            if (random_pattern(rng, p)) {
                index.insert(p, i);
            }
        }
        return index;
    };
    const PatternIndex<int> a = build();
    const PatternIndex<int> b = build();
    Random rng(8);
    for (int i = 0; i < 200; ++i) {
        const std::string subject = random_subject(rng);
        CHECK(matches_of(a, subject) == matches_of(b, subject));
    }
}

TEST_CASE("pattern index: for_each visits every pattern once") {
    PatternIndex<int> index;
    Random rng(11);
    std::unordered_map<Pattern, int> reference;
    for (int i = 0; i < 300; ++i) {
        Pattern p;
        if (random_pattern(rng, p)) {
            index.insert(p, i);
            reference[p] = i;
        }
    }
    std::unordered_map<Pattern, int> seen;
    index.for_each([&](const Pattern& p, int& v) { CHECK(seen.emplace(p, v).second); });
    CHECK(seen == reference);
}

TEST_CASE("pattern index: very long token patterns and subjects do not exhaust the stack") {
    std::string deep = "a";
    for (int i = 0; i < 200000; ++i) {
        deep += ".a";
    }
    {
        PatternIndex<int> index;
        index.insert(herald::nats_pattern(deep), 1);
        index.insert(herald::nats_pattern(deep + ".*"), 2);
        index.insert(herald::nats_pattern("a.>"), 3);
        CHECK(matches_of(index, deep).size() == 2);
        CHECK(matches_of(index, deep + ".b").size() == 2);
        CHECK(index.erase(herald::nats_pattern(deep + ".*")));
        CHECK(matches_of(index, deep + ".b").size() == 1);
    } // the destructor frees 200,000 nested nodes
    PatternIndex<int> stars;
    stars.insert(herald::nats_pattern(
                     "*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.>"),
                 1);
    CHECK(matches_of(stars, deep).size() == 1);
}

TEST_CASE("pattern index: a long chain of globs with one prefix is matched and freed") {
    PatternIndex<int> index;
    for (int i = 0; i < 100000; ++i) {
        index.insert("*:" + std::to_string(i), i); // all share the empty prefix
    }
    std::vector<int> got;
    index.match("x:4242", [&](const Pattern&, int& v) { got.push_back(v); });
    CHECK(got == std::vector<int>{4242});
    CHECK(index.erase("*:0"));     // the head of the chain
    CHECK(index.erase("*:50000")); // the middle
    CHECK(index.find("*:1") != nullptr);
    CHECK(index.size() == 99998);
} // the destructor frees the chain without recursing through it

TEST_CASE("pattern index: a moved-from index is empty and the moved-to one works") {
    PatternIndex<int> a;
    a.insert("x*", 1);
    a.insert(herald::nats_pattern("x.>"), 2);
    a.match("x.y", [](const Pattern&, int&) {});
    const std::uint64_t evaluations = a.evaluations();
    PatternIndex<int> b(std::move(a));
    CHECK(b.size() == 2);
    CHECK(b.evaluations() == evaluations);
    CHECK(matches_of(b, "x.y").size() == 2);
    PatternIndex<int> c;
    c = std::move(b);
    CHECK(c.size() == 2);
    CHECK(matches_of(c, "x.y").size() == 2);
}
