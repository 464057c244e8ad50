// Differential test: herald::mqtt_pattern / mqtt_match against libmosquitto.
//
// For generated filters and topics (levels with wildcards in and out of place, empty levels, '$'
// topics, bytes >= 0x80), two things must agree:
// - validity: herald::mqtt_pattern throws exactly when mosquitto_sub_topic_check rejects the
//   filter or the filter is empty (mosquitto_topic_matches_sub rejects empty filters too);
// - matching: for every valid filter and every topic, herald::mqtt_match is true exactly when
//   mosquitto_topic_matches_sub returns MOSQ_ERR_SUCCESS with a true result (for an invalid
//   topic mosquitto returns MOSQ_ERR_INVAL or "no match"; herald does not match), and for a valid
//   filter and a valid topic mosquitto must not report an error at all.
// NUL bytes are left out: the C API takes NUL-terminated strings (herald rejects them in filters
// and does not match topics containing them; the unit tests cover that).

#include "conformance_support.hpp"

#include <herald/pattern.hpp>

#include <mosquitto.h>

#include <cstdio>
#include <string>
#include <unordered_set>
#include <vector>

namespace {

using conformance::Random;
using conformance::show;

const std::vector<std::string> filter_levels = {
    "a",  "a",  "b",     "",   "+",    "+",      "#",  "#", "$SYS", "$a",  "a+", "+a",
    "#a", "a#", "sport", "ab", "\x80", "tennis", "++", "$", "a$",   "a b", "+#", "/"};
const std::vector<std::string> topic_levels = {"a",     "a",  "b",    "",       "$SYS", "$a",
                                               "sport", "ab", "\x80", "tennis", "$",    "a$",
                                               "a b",   "+",  "#",    "a+",     "x#y"};

std::string join(const std::vector<std::string>& levels) {
    std::string s;
    for (std::size_t i = 0; i < levels.size(); ++i) {
        if (i > 0) {
            s += '/';
        }
        s += levels[i];
    }
    return s;
}

std::vector<std::string> random_levels(Random& rng, const std::vector<std::string>& alphabet,
                                       std::size_t max_levels) {
    std::vector<std::string> levels;
    const std::size_t n = 1 + rng.below(max_levels);
    for (std::size_t i = 0; i < n; ++i) {
        levels.push_back(rng.pick(alphabet));
    }
    return levels;
}

// Character soup: covers placements the level alphabet does not.
std::string random_chars(Random& rng, std::size_t max_len) {
    static const std::vector<char> chars = {'a', 'b', '/', '/', '+', '#', '$', 'a'};
    std::string s;
    const std::size_t n = rng.below(max_len + 1);
    for (std::size_t i = 0; i < n; ++i) {
        s += rng.pick(chars);
    }
    return s;
}

// A filter built from a topic: levels become '+', the tail '#'.
std::string filter_from(Random& rng, std::vector<std::string> levels) {
    for (std::string& l : levels) {
        if (rng.chance(30)) {
            l = "+";
        } else if (rng.chance(5)) {
            l = rng.pick(filter_levels);
        }
    }
    if (rng.chance(35)) {
        levels.resize(rng.below(levels.size() + 1));
        levels.push_back("#");
    }
    return join(levels);
}

bool herald_accepts(const std::string& filter) {
    try {
        (void)herald::mqtt_pattern(filter);
        return true;
    } catch (const herald::pattern_error&) {
        return false;
    }
}

bool mosquitto_accepts_filter(const std::string& filter) {
    return !filter.empty() && mosquitto_sub_topic_check(filter.c_str()) == MOSQ_ERR_SUCCESS;
}

bool mosquitto_accepts_topic(const std::string& topic) {
    return !topic.empty() && mosquitto_pub_topic_check(topic.c_str()) == MOSQ_ERR_SUCCESS;
}

} // namespace

int main() {
    int major = 0;
    int minor = 0;
    int revision = 0;
    mosquitto_lib_version(&major, &minor, &revision);
    std::printf("libmosquitto %d.%d.%d\n", major, minor, revision);

    conformance::Tally validity("mqtt filter validity", "rejected by mosquitto");
    conformance::Tally matching("mqtt matching", "matching");
    Random rng(20261123);

    for (int batch = 0; batch < 200; ++batch) {
        std::vector<std::vector<std::string>> topic_lists;
        std::vector<std::string> topics;
        for (int i = 0; i < 50; ++i) {
            if (rng.chance(15)) {
                topics.push_back(random_chars(rng, 8));
                topic_lists.push_back({topics.back()});
            } else {
                topic_lists.push_back(random_levels(rng, topic_levels, 5));
                topics.push_back(join(topic_lists.back()));
            }
        }
        std::vector<std::string> filters;
        std::unordered_set<std::string> seen;
        while (filters.size() < 50) {
            std::string f;
            switch (rng.below(3)) {
            case 0:
                f = filter_from(rng, rng.pick(topic_lists));
                break;
            case 1:
                f = join(random_levels(rng, filter_levels, 5));
                break;
            default:
                f = random_chars(rng, 8);
                break;
            }
            if (seen.insert(f).second) {
                filters.push_back(std::move(f));
            }
        }

        for (const std::string& f : filters) {
            const bool theirs = mosquitto_accepts_filter(f);
            const bool ours = herald_accepts(f);
            if (!theirs) {
                validity.count_positive();
            }
            validity.check(ours == theirs, "filter " + show(f) + ": mosquitto " +
                                               (theirs ? "accepts" : "rejects") + " it, herald " +
                                               (ours ? "accepts" : "rejects") + " it");
            if (!ours) {
                continue;
            }
            for (const std::string& t : topics) {
                bool result = false;
                const int rc = mosquitto_topic_matches_sub(f.c_str(), t.c_str(), &result);
                const bool mosquitto_match = rc == MOSQ_ERR_SUCCESS && result;
                const bool herald_match = herald::mqtt_match(f, t);
                const bool consistent = rc == MOSQ_ERR_SUCCESS || !mosquitto_accepts_topic(t);
                if (mosquitto_match) {
                    matching.count_positive();
                }
                matching.check(herald_match == mosquitto_match && consistent,
                               "filter " + show(f) + " topic " + show(t) + ": mosquitto says " +
                                   (rc != MOSQ_ERR_SUCCESS ? "invalid"
                                    : result               ? "match"
                                                           : "no match") +
                                   ", herald says " + (herald_match ? "match" : "no match"));
            }
        }
    }
    // MQTT's length limit (65,535 bytes, a two-byte length on the wire): filters and topics
    // either side of it. libmosquitto rejects a longer filter (mosquitto_sub_topic_check) and a
    // longer topic (mosquitto_pub_topic_check), so a broker never delivers such a topic; its
    // matcher alone does not look at the length. The reference for a match is therefore "the
    // matcher says so and the topic can be published".
    for (const std::size_t length :
         {std::size_t{65534}, std::size_t{65535}, std::size_t{65536}, std::size_t{70000}}) {
        const std::string long_topic(length, 'a');
        const std::string long_filter = std::string(length - 2, 'a') + "/#";
        const std::string short_filter = "#";
        const std::string short_topic = "a";
        for (const std::string* f : {&long_filter, &short_filter}) {
            const bool theirs = mosquitto_accepts_filter(*f);
            const bool ours = herald_accepts(*f);
            if (!theirs) {
                validity.count_positive();
            }
            validity.check(ours == theirs, "filter of " + std::to_string(f->size()) +
                                               " bytes: mosquitto " +
                                               (theirs ? "accepts" : "rejects") + " it, herald " +
                                               (ours ? "accepts" : "rejects") + " it");
            if (!ours) {
                continue;
            }
            for (const std::string* t : {&long_topic, &short_topic}) {
                bool result = false;
                const int rc = mosquitto_topic_matches_sub(f->c_str(), t->c_str(), &result);
                const bool mosquitto_match =
                    rc == MOSQ_ERR_SUCCESS && result && mosquitto_accepts_topic(*t);
                const bool herald_match = herald::mqtt_match(*f, *t);
                if (mosquitto_match) {
                    matching.count_positive();
                }
                matching.check(herald_match == mosquitto_match,
                               "filter of " + std::to_string(f->size()) + " bytes, topic of " +
                                   std::to_string(t->size()) + " bytes: mosquitto says " +
                                   (mosquitto_match ? "match" : "no match") + ", herald says " +
                                   (herald_match ? "match" : "no match"));
            }
        }
    }
    const int v = validity.finish(1000);
    const int m = matching.finish(10000);
    return v != 0 || m != 0 ? 1 : 0;
}
