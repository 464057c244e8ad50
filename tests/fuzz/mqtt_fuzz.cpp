// libFuzzer target: mqtt_pattern / mqtt_match never crash on any bytes, throw pattern_error
// together (with a position inside the filter), agree with Pattern::matches, and the
// PatternIndex agrees with a naive scan of the same MQTT filters (mixed with globs, which share
// the index).

#include "fuzz_support.hpp"

namespace {

std::optional<herald::Pattern> make(std::string_view text) {
    try {
        return herald::mqtt_pattern(text);
    } catch (const herald::pattern_error& e) {
        if (e.position() > text.size() || e.pattern() != text) {
            fuzz::fail("bad pattern_error", text, e.what());
        }
        return std::nullopt;
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const fuzz::Input in = fuzz::split(data, size);
    const std::optional<herald::Pattern> pair = make(in.pair_pattern);
    try {
        const bool m = herald::mqtt_match(in.pair_pattern, in.pair_subject);
        if (!pair || m != pair->matches(in.pair_subject)) {
            fuzz::fail("mqtt_match disagrees with mqtt_pattern", in.pair_pattern, in.pair_subject);
        }
    } catch (const herald::pattern_error&) {
        if (pair) {
            fuzz::fail("mqtt_match threw for a valid filter", in.pair_pattern, in.pair_subject);
        }
    }
    std::vector<herald::Pattern> patterns;
    for (const std::string_view text : in.patterns) {
        if (auto p = make(text)) {
            patterns.push_back(*p);
        }
        patterns.push_back(herald::glob_pattern(text));
    }
    fuzz::check_index(patterns, in.erase_mask, in.subjects);
    return 0;
}
