// libFuzzer target: nats_pattern / nats_match never crash on any bytes, throw pattern_error
// together (with a position inside the pattern), agree with Pattern::matches, and the
// PatternIndex agrees with a naive scan of the same NATS patterns.

#include "fuzz_support.hpp"

namespace {

std::optional<herald::Pattern> make(std::string_view text, char separator) {
    try {
        return herald::nats_pattern(text, separator);
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
    const std::optional<herald::Pattern> pair = make(in.pair_pattern, in.separator);
    try {
        const bool m = herald::nats_match(in.pair_pattern, in.pair_subject, in.separator);
        if (!pair || m != pair->matches(in.pair_subject)) {
            fuzz::fail("nats_match disagrees with nats_pattern", in.pair_pattern, in.pair_subject);
        }
    } catch (const herald::pattern_error&) {
        if (pair) {
            fuzz::fail("nats_match threw for a valid pattern", in.pair_pattern, in.pair_subject);
        }
    }
    std::vector<herald::Pattern> patterns;
    for (const std::string_view text : in.patterns) {
        // Two separators share one index: each gets its own trie.
        for (const char separator : {in.separator, '.'}) {
            if (auto p = make(text, separator)) {
                patterns.push_back(*p);
            }
        }
    }
    fuzz::check_index(patterns, in.erase_mask, in.subjects);
    return 0;
}
