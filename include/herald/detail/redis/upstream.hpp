#pragma once
// What the bridge subscribes to upstream: a channel prefix escaped for globs, and token patterns
// (NATS, MQTT) turned into a Redis glob that matches at least what they match (a superset; the
// bridge re-filters every received message with the pattern itself).

#include <herald/pattern.hpp>
#include <herald/version.hpp>

#include <string>
#include <string_view>

HERALD_NAMESPACE_BEGIN
namespace detail::redis {

/// A Redis glob matching every channel `pattern` matches (and, for token patterns, possibly
/// more): globs as written; NATS `*` and `>` and MQTT `+` become `*`; MQTT `#` becomes `*`
/// placed so that it also matches its parent level ("a/#" matches "a"); literal parts are
/// escaped.
inline std::string superset_glob(const Pattern& pattern) {
    const std::string& text = pattern.text();
    if (pattern.kind() == PatternKind::glob) {
        return text;
    }
    const char separator = pattern.separator();
    const bool nats = pattern.kind() == PatternKind::nats;
    std::string out;
    std::size_t start = 0;
    std::size_t before_separator = 0; // out's size before the last separator was added
    bool first = true;
    for (;;) {
        const std::size_t end = text.find(separator, start);
        const std::string_view token(text.data() + start,
                                     (end == std::string::npos ? text.size() : end) - start);
        const bool last = end == std::string::npos;
        if (!nats && token == "#") {
            // '#' is last (validated); "a/#" also matches "a": drop the separator before it.
            if (!first) {
                out.resize(before_separator);
            }
            out += '*';
            break;
        }
        if ((nats && (token == "*" || token == ">")) || (!nats && token == "+")) {
            out += '*';
        } else {
            out += glob_escape(token);
        }
        if (last) {
            break;
        }
        before_separator = out.size();
        out += glob_escape(std::string_view(&separator, 1));
        start = end + 1;
        first = false;
    }
    return out;
}

} // namespace detail::redis
HERALD_NAMESPACE_END
