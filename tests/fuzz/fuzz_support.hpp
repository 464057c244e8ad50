#pragma once
// Shared by the fuzz targets: turns one fuzzer input into patterns and subjects, and checks that
// PatternIndex reports exactly what a naive scan of the same patterns reports.
//
// Input layout: byte 0 chooses how many of the following '\n'-separated lines are patterns (the
// rest are subjects), byte 1 chooses which patterns are erased again after insertion, byte 2
// picks a token separator. The whole input is also tried as one (pattern, subject) pair split at
// byte 0, so that '\n' appears inside patterns too.

#include <herald/detail/pattern_index.hpp>
#include <herald/pattern.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace fuzz {

struct Input {
    std::vector<std::string_view> patterns;
    std::vector<std::string_view> subjects;
    std::uint8_t erase_mask = 0;
    char separator = '.';
    std::string_view pair_pattern;
    std::string_view pair_subject;
};

inline Input split(const std::uint8_t* data, std::size_t size) {
    Input in;
    const std::string_view all(reinterpret_cast<const char*>(data), size);
    if (size == 0) {
        return in;
    }
    const std::size_t cut = data[0] % size;
    in.pair_pattern = all.substr(0, cut);
    in.pair_subject = all.substr(cut);
    if (size < 3) {
        return in;
    }
    const std::size_t pattern_count = data[0] % 8;
    in.erase_mask = data[1];
    static constexpr char separators[] = {'.', '.', ':', '/', '\0', ' ', '\n', 'a'};
    in.separator = separators[data[2] % sizeof separators];
    std::string_view rest = all.substr(3);
    std::vector<std::string_view> lines;
    while (!rest.empty() || lines.empty()) {
        const std::size_t eol = rest.find('\n');
        lines.push_back(rest.substr(0, eol));
        if (eol == std::string_view::npos) {
            break;
        }
        rest.remove_prefix(eol + 1);
    }
    for (std::size_t i = 0; i < lines.size(); ++i) {
        (i < pattern_count ? in.patterns : in.subjects).push_back(lines[i]);
    }
    return in;
}

[[noreturn]] inline void fail(const char* what, std::string_view a, std::string_view b) {
    std::fprintf(stderr, "%s: [%.*s] [%.*s]\n", what, static_cast<int>(a.size()), a.data(),
                 static_cast<int>(b.size()), b.data());
    __builtin_trap();
}

/// Inserts `patterns` into a PatternIndex, erases those selected by `erase_mask`, and checks that
/// every subject's matches equal a naive scan (each matching pattern reported exactly once).
inline void check_index(const std::vector<herald::Pattern>& patterns, std::uint8_t erase_mask,
                        const std::vector<std::string_view>& subjects) {
    herald::detail::PatternIndex<std::size_t> index;
    std::unordered_map<herald::Pattern, std::size_t> reference;
    for (std::size_t i = 0; i < patterns.size(); ++i) {
        index.insert(patterns[i], i);
        reference[patterns[i]] = i;
    }
    for (std::size_t i = 0; i < patterns.size(); ++i) {
        if ((erase_mask >> (i % 8)) & 1u) {
            const bool erased = index.erase(patterns[i]);
            if (erased != (reference.erase(patterns[i]) == 1)) {
                fail("erase disagrees", patterns[i].text(), "");
            }
        }
    }
    if (index.size() != reference.size()) {
        fail("size disagrees", "", "");
    }
    for (const std::string_view subject : subjects) {
        std::vector<std::size_t> got;
        index.match(subject, [&](const herald::Pattern& p, std::size_t& value) {
            if (reference.at(p) != value) {
                fail("wrong value", p.text(), subject);
            }
            got.push_back(value);
        });
        std::vector<std::size_t> expected;
        for (const auto& [pattern, value] : reference) {
            if (pattern.matches(subject)) {
                expected.push_back(value);
            }
        }
        std::sort(got.begin(), got.end());
        std::sort(expected.begin(), expected.end());
        if (got != expected) {
            fail("index disagrees with a naive scan", "", subject);
        }
    }
}

} // namespace fuzz
