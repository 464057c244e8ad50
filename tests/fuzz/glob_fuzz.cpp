// libFuzzer target: glob_match never crashes, hangs or trips a sanitizer on any bytes, and the
// PatternIndex agrees with a naive scan of the same globs.

#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const fuzz::Input in = fuzz::split(data, size);
    const bool pair = herald::glob_match(in.pair_pattern, in.pair_subject);
    if (pair != herald::glob_pattern(in.pair_pattern).matches(in.pair_subject)) {
        fuzz::fail("Pattern::matches disagrees with glob_match", in.pair_pattern, in.pair_subject);
    }
    // A glob without special bytes matches exactly itself.
    if (herald::detail::glob_literal_prefix(in.pair_pattern).size() == in.pair_pattern.size() &&
        pair != (in.pair_pattern == in.pair_subject)) {
        fuzz::fail("a literal glob does not match exactly itself", in.pair_pattern,
                   in.pair_subject);
    }
    std::vector<herald::Pattern> patterns(in.patterns.begin(), in.patterns.end());
    fuzz::check_index(patterns, in.erase_mask, in.subjects);
    return 0;
}
