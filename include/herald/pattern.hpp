#pragma once
/// \file
/// Pattern matching: Redis globs, NATS subjects and MQTT topic filters, as free functions and as
/// the `herald::Pattern` value type that `Broker::psubscribe` takes.
///
/// The three grammars, their corner cases and where they disagree are described in
/// docs/patterns.md; every rule below is checked against the real implementations (redis-server,
/// nats-server, libmosquitto) by the differential tests in tests/conformance/.

#include <herald/version.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

HERALD_NAMESPACE_BEGIN

/// The grammar a `Pattern` is written in; part of a pattern's identity (equal text in two
/// grammars makes two patterns).
enum class PatternKind : std::uint8_t {
    glob, ///< Redis `PSUBSCRIBE` glob: `*`, `?`, `[...]`, `\` escapes; every string is valid
    nats, ///< NATS subject: `*` one token, `>` one or more trailing tokens
    mqtt, ///< MQTT topic filter: `+` one level, `#` zero or more trailing levels
};

/// A human-readable name of `kind`: "glob", "NATS" or "MQTT".
/// **Thread-safety:** pure function.
constexpr std::string_view to_string(PatternKind kind) noexcept {
    switch (kind) {
    case PatternKind::glob:
        return "glob";
    case PatternKind::nats:
        return "NATS";
    case PatternKind::mqtt:
        return "MQTT";
    }
    return "unknown";
}

namespace detail {

// Renders a pattern for an error message: printable ASCII as is, other bytes as \xNN, and very
// long patterns cut (the position in the message still counts bytes of the full pattern).
inline std::string quote_pattern(std::string_view text) {
    constexpr std::size_t max_shown = 200;
    static constexpr char hex[] = "0123456789abcdef";
    std::string out = "\"";
    const std::size_t shown = text.size() < max_shown ? text.size() : max_shown;
    for (std::size_t i = 0; i < shown; ++i) {
        const auto byte = static_cast<unsigned char>(text[i]);
        if (byte == '"' || byte == '\\') {
            out += '\\';
            out += static_cast<char>(byte);
        } else if (byte >= 0x20 && byte < 0x7f) {
            out += static_cast<char>(byte);
        } else {
            out += "\\x";
            out += hex[byte >> 4];
            out += hex[byte & 0xf];
        }
    }
    out += '"';
    if (shown < text.size()) {
        out += "... (" + std::to_string(text.size()) + " bytes)";
    }
    return out;
}

} // namespace detail

/// Thrown when a NATS or MQTT pattern is malformed (globs never are). The message names the
/// grammar, the pattern and the byte offset of the problem, e.g.
/// `herald: invalid NATS pattern "a.>.b" at position 2: '>' must be the last token`.
/// **Thread-safety:** immutable; copies share the stored pattern and never throw.
class pattern_error : public std::invalid_argument {
public:
    /// Builds the error for `pattern` (a copy is kept), the byte offset `position` and `reason`.
    /// **Thread-safety:** any thread.
    /// **Lifetime:** `pattern` and `reason` need only live for the call.
    pattern_error(PatternKind kind, std::string_view pattern, std::size_t position,
                  std::string_view reason)
        : std::invalid_argument("herald: invalid " + std::string(to_string(kind)) + " pattern " +
                                detail::quote_pattern(pattern) + " at position " +
                                std::to_string(position) + ": " + std::string(reason)),
          pattern_(std::make_shared<const std::string>(pattern)), position_(position), kind_(kind) {
    }

    /// The offending pattern, byte for byte.
    /// **Thread-safety:** any thread; copies of the exception share the text.
    /// **Lifetime:** valid while this exception object or a copy of it lives.
    std::string_view pattern() const noexcept { return *pattern_; }
    /// The byte offset of the offending token or character (the pattern's size for "at the end").
    /// **Thread-safety:** any thread.
    std::size_t position() const noexcept { return position_; }
    /// The grammar the pattern was checked against.
    /// **Thread-safety:** any thread.
    PatternKind kind() const noexcept { return kind_; }

private:
    std::shared_ptr<const std::string> pattern_;
    std::size_t position_;
    PatternKind kind_;
};

namespace detail {

/// Redis stops matching (and reports no match) when a glob needs more than this many nested
/// `*` expansions; see glob_match.
inline constexpr unsigned glob_max_star_nesting = 1000;

/// The bytes of a glob before its first special character (`*`, `?`, `[`, `\`): every subject
/// the glob matches starts with them.
constexpr std::string_view glob_literal_prefix(std::string_view glob) noexcept {
    const std::size_t special = glob.find_first_of("*?[\\");
    return special == std::string_view::npos ? glob : glob.substr(0, special);
}

/// Walks the tokens of a string split on one separator byte, empty tokens included; a string of
/// n separators has n + 1 tokens, so "" is one empty token.
class TokenCursor {
public:
    constexpr TokenCursor(std::string_view text, char separator) noexcept
        : text_(text), separator_(separator) {}

    /// True once every token has been returned.
    constexpr bool done() const noexcept { return position_ > text_.size(); }

    /// The next token; call only while !done().
    constexpr std::string_view next() noexcept {
        std::size_t end = text_.find(separator_, position_);
        if (end == std::string_view::npos) {
            end = text_.size();
        }
        const std::string_view token = text_.substr(position_, end - position_);
        position_ = end + 1;
        return token;
    }

    /// Offset of the next token's first byte.
    constexpr std::size_t position() const noexcept { return position_; }

private:
    std::string_view text_;
    char separator_;
    std::size_t position_ = 0;
};

/// Throws pattern_error unless `separator` can delimit NATS tokens.
inline void check_nats_separator(std::string_view pattern, char separator) {
    if (separator == '*' || separator == '>') {
        throw pattern_error(PatternKind::nats, pattern, 0,
                            std::string("the separator '") + separator +
                                "' is a wildcard character");
    }
}

/// Throws pattern_error unless `pattern` is a valid NATS subject pattern for `separator`.
inline void validate_nats(std::string_view pattern, char separator) {
    check_nats_separator(pattern, separator);
    if (pattern.empty()) {
        throw pattern_error(PatternKind::nats, pattern, 0, "a subject must not be empty");
    }
    TokenCursor cursor(pattern, separator);
    while (!cursor.done()) {
        const std::size_t start = cursor.position();
        const std::string_view token = cursor.next();
        if (token.empty()) {
            throw pattern_error(PatternKind::nats, pattern, start, "empty token");
        }
        if (token == ">" && !cursor.done()) {
            throw pattern_error(PatternKind::nats, pattern, start, "'>' must be the last token");
        }
    }
}

/// True if `subject` is something a NATS pattern can match: not empty and no empty token.
/// (Tokens `*` and `>` in a subject are ordinary tokens, as in nats-server.)
constexpr bool nats_subject_matchable(std::string_view subject, char separator) noexcept {
    if (subject.empty() || subject.front() == separator || subject.back() == separator) {
        return false;
    }
    for (std::size_t i = 1; i < subject.size(); ++i) {
        if (subject[i] == separator && subject[i - 1] == separator) {
            return false;
        }
    }
    return true;
}

/// NATS matching of an already validated pattern.
constexpr bool nats_match_valid(std::string_view pattern, std::string_view subject,
                                char separator) noexcept {
    if (!nats_subject_matchable(subject, separator)) {
        return false;
    }
    TokenCursor p(pattern, separator);
    TokenCursor s(subject, separator);
    while (!p.done()) {
        const std::string_view want = p.next();
        if (s.done()) {
            return false;
        }
        if (want == ">") {
            return true; // at least one token remains: the check above
        }
        const std::string_view got = s.next();
        if (want != "*" && want != got) {
            return false;
        }
    }
    return s.done();
}

/// Throws pattern_error unless `filter` is a valid MQTT topic filter.
/// MQTT's length limit for topic names and filters (a two-byte length prefix on the wire).
inline constexpr std::size_t mqtt_max_length = 65535;

inline void validate_mqtt(std::string_view filter) {
    if (filter.empty()) {
        throw pattern_error(PatternKind::mqtt, filter, 0, "a topic filter must not be empty");
    }
    if (filter.size() > mqtt_max_length) {
        throw pattern_error(PatternKind::mqtt, filter, mqtt_max_length,
                            "a topic filter is at most 65,535 bytes long (MQTT's length limit)");
    }
    for (std::size_t i = 0; i < filter.size(); ++i) {
        const char c = filter[i];
        const bool level_start = i == 0 || filter[i - 1] == '/';
        const bool level_end = i + 1 == filter.size() || filter[i + 1] == '/';
        if (c == '+' && !(level_start && level_end)) {
            throw pattern_error(PatternKind::mqtt, filter, i, "'+' must be a whole level");
        }
        if (c == '#') {
            if (!(level_start && level_end)) {
                throw pattern_error(PatternKind::mqtt, filter, i, "'#' must be a whole level");
            }
            if (i + 1 != filter.size()) {
                throw pattern_error(PatternKind::mqtt, filter, i, "'#' must be the last level");
            }
        }
        if (c == '\0') {
            throw pattern_error(PatternKind::mqtt, filter, i,
                                "a topic filter must not contain a NUL byte");
        }
    }
}

/// True if `topic` is something an MQTT filter can match: a valid topic name (not empty, no
/// wildcard character, no NUL byte).
constexpr bool mqtt_topic_matchable(std::string_view topic) noexcept {
    return !topic.empty() && topic.size() <= mqtt_max_length &&
           topic.find_first_of(std::string_view("+#\0", 3)) == topic.npos;
}

/// MQTT matching of an already validated filter.
constexpr bool mqtt_match_valid(std::string_view filter, std::string_view topic) noexcept {
    if (!mqtt_topic_matchable(topic)) {
        return false;
    }
    // MQTT 4.7.2: a filter starting with a wildcard does not match a topic starting with '$'.
    if (topic.front() == '$' && (filter.front() == '+' || filter.front() == '#')) {
        return false;
    }
    TokenCursor f(filter, '/');
    TokenCursor t(topic, '/');
    while (!f.done()) {
        const std::string_view want = f.next();
        if (want == "#") {
            return true; // zero or more levels, so "a/#" also matches "a"
        }
        if (t.done()) {
            return false;
        }
        const std::string_view got = t.next();
        if (want != "+" && want != got) {
            return false;
        }
    }
    return t.done();
}

} // namespace detail

/// Matches `subject` against the Redis glob `pattern` exactly as Redis 7.0's `PSUBSCRIBE`
/// (`stringmatchlen`, case-sensitive) does, byte for byte:
/// - `*` matches any run of bytes and `?` exactly one byte; both match any byte, NUL included.
/// - `[abc]` one byte of the set, `[^abc]` one byte not in it, `[a-z]` a range (`[z-a]` is the
///   same range); `\x` inside a class is the literal `x`; `[a-]` reads `-]` as a range to `]`
///   and leaves the class unterminated; `[]` never matches, `[^]` matches any one byte; `[!a]`
///   is the set {`!`, `a`} (no `!` negation); an unterminated class ends at the end of the
///   pattern.
/// - Range bounds and the subject byte are compared as signed `char`, as Redis on x86-64 does:
///   bytes 0x80..0xff sort below 0x00, so `[\x7f-\x80]` matches every byte.
/// - `\x` outside a class is the literal `x`; a trailing `\` is a literal backslash.
/// - `*` does not match an empty subject (Redis 7.0's loop stops before a leading `*` when the
///   subject is empty), though a trailing `*` matches the empty rest of a non-empty subject.
/// - A pattern needing more than 1000 nested `*` expansions (roughly: more than 1000 `*` groups
///   before the last one, reached while subject bytes remain) does not match, like Redis's guard
///   against abusive patterns.
/// Every string is a valid glob; embedded NUL bytes are ordinary bytes. Runs in
/// O(pattern x subject) time without recursion or allocation.
/// **Thread-safety:** pure function.
constexpr bool glob_match(std::string_view pattern, std::string_view subject) noexcept {
    constexpr std::size_t none = static_cast<std::size_t>(-1);
    const std::size_t plen = pattern.size();
    const std::size_t slen = subject.size();
    // Redis's patterns are NUL-terminated strings and its matcher reads that terminator in a few
    // places; reading past the end here yields the same NUL.
    auto at = [&](std::size_t i) -> char { return i < plen ? pattern[i] : '\0'; };
    auto as_signed = [](char c) -> int { return static_cast<signed char>(c); };

    std::size_t pi = 0;
    std::size_t si = 0;
    // Redis recurses at each '*' and, once the rest of the pattern fails at every later subject
    // position, gives up on the whole match (its skipLongerMatches flag). So only the most recent
    // '*' is ever retried: remember where its rest starts and where it was last tried.
    std::size_t star_rest = none;
    std::size_t star_subject = 0;
    unsigned nesting = 0;

    for (;;) {
        bool mismatch = false;
        if (pi >= plen || si >= slen) {
            // One "call" ends: Redis matches only if both pattern and subject are used up.
            if (pi == plen && si == slen) {
                return true;
            }
            mismatch = true;
        } else {
            switch (pattern[pi]) {
            case '*':
                while (at(pi + 1) == '*') {
                    ++pi;
                }
                if (pi + 1 == plen) {
                    return true;
                }
                if (nesting >= detail::glob_max_star_nesting) {
                    return false;
                }
                ++nesting;
                star_rest = pi + 1;
                star_subject = si;
                pi = star_rest;
                continue;
            case '?':
                ++si;
                break;
            case '[': {
                const char c = subject[si];
                std::size_t q = pi + 1;
                const bool negate = at(q) == '^';
                if (negate) {
                    ++q;
                }
                bool hit = false;
                for (;;) {
                    if (at(q) == '\\' && plen - q >= 2) {
                        ++q;
                        hit = hit || pattern[q] == c;
                    } else if (at(q) == ']') {
                        break;
                    } else if (q == plen) {
                        --q; // unterminated: the class ends with the pattern
                        break;
                    } else if (plen - q >= 3 && pattern[q + 1] == '-') {
                        int low = as_signed(pattern[q]);
                        int high = as_signed(pattern[q + 2]);
                        if (low > high) {
                            std::swap(low, high);
                        }
                        hit = hit || (as_signed(c) >= low && as_signed(c) <= high);
                        q += 2;
                    } else {
                        hit = hit || pattern[q] == c;
                    }
                    ++q;
                }
                if (hit == negate) {
                    mismatch = true;
                } else {
                    ++si;
                    pi = q;
                }
                break;
            }
            case '\\':
                if (plen - pi >= 2) {
                    ++pi;
                }
                [[fallthrough]];
            default:
                if (pattern[pi] != subject[si]) {
                    mismatch = true;
                } else {
                    ++si;
                }
                break;
            }
            if (!mismatch) {
                ++pi;
                if (si == slen) {
                    while (at(pi) == '*') {
                        ++pi;
                    }
                    if (pi == plen) {
                        return true;
                    }
                    mismatch = true;
                }
            }
        }
        if (!mismatch) {
            continue;
        }
        // mismatch: retry the rest of the most recent '*' one subject byte later.
        if (star_rest == none || ++star_subject == slen) {
            return false;
        }
        pi = star_rest;
        si = star_subject;
    }
}

/// Matches `subject` against the NATS subject pattern `pattern`, tokens split on `separator`:
/// `*` matches exactly one token, `>` (last token only) one or more tokens, anything else a token
/// equal to it. `*` and `>` are wildcards only as whole tokens (`a*` is a literal token).
/// A subject that is empty or has an empty token (leading, trailing or doubled separator) matches
/// nothing; `*` and `>` tokens in a subject are ordinary tokens (as in nats-server, they are
/// matched by wildcards only).
/// Throws `pattern_error` if `pattern` is invalid (empty, an empty token, `>` not last) or if
/// `separator` is `*` or `>`.
/// **Thread-safety:** pure function.
inline bool nats_match(std::string_view pattern, std::string_view subject, char separator = '.') {
    detail::validate_nats(pattern, separator);
    return detail::nats_match_valid(pattern, subject, separator);
}

/// Matches `topic` against the MQTT topic filter `filter` (levels split on '/', empty levels
/// allowed): `+` matches exactly one level, `#` (last level only) zero or more levels, so
/// "sport/#" also matches "sport". A filter whose first level is a wildcard does not match a topic
/// starting with '$'. A topic that is empty or contains '+', '#' or NUL matches nothing.
/// Throws `pattern_error` if `filter` is invalid: empty, a wildcard sharing its level with other
/// characters, `#` not last, or a NUL byte.
/// **Thread-safety:** pure function.
inline bool mqtt_match(std::string_view filter, std::string_view topic) {
    detail::validate_mqtt(filter);
    return detail::mqtt_match_valid(filter, topic);
}

/// `text` with every Redis glob metacharacter (`*`, `?`, `[`, `]`, `\\`) escaped by a `\\`, so
/// that the glob `glob_escape(text)` matches exactly `text` and `glob_escape(p) + "*"` every
/// subject starting with `p` and at least one more byte.
/// **Thread-safety:** pure function.
/// **Lifetime:** returns a new string; `text` need only live for the call.
inline std::string glob_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 4);
    for (const char ch : text) {
        if (ch == '*' || ch == '?' || ch == '[' || ch == ']' || ch == '\\') {
            out += '\\';
        }
        out += ch;
    }
    return out;
}

class Pattern;
Pattern nats_pattern(std::string_view text, char separator = '.');
Pattern mqtt_pattern(std::string_view text);

/// A validated pattern in one of the three grammars: what `Broker::psubscribe` takes. Built from
/// a string it is a glob, so `broker.psubscribe("alerts:*", ...)` works; `nats_pattern` and
/// `mqtt_pattern` build token patterns. Two patterns are equal when kind, text and separator are
/// equal; equal patterns share one entry in the broker's pattern index (Redis counts distinct
/// patterns the same way).
/// **Thread-safety:** a value type; const member functions may be called concurrently, but
/// assigning to a pattern while another thread reads it is a data race.
/// **Lifetime:** each copy owns its text (the broker keeps its own copy of the pattern it was
/// given); no pattern refers to another object.
class Pattern {
public:
    /// The glob that matches only the empty channel.
    /// **Thread-safety:** any thread.
    Pattern() = default;
    /// The glob `glob`, a NUL-terminated string (never throws `pattern_error`: every string is
    /// a valid glob).
    /// **Thread-safety:** any thread.
    /// **Lifetime:** the bytes are copied; `glob` need only live for the call.
    Pattern(const char* glob) : text_(glob) {}
    /// The glob `glob`, byte for byte, NUL bytes included (every string is a valid glob).
    /// **Thread-safety:** any thread.
    /// **Lifetime:** the bytes are copied; `glob` need only live for the call.
    Pattern(std::string_view glob) : text_(glob) {}
    /// The glob `glob`, taking over the string (every string is a valid glob).
    /// **Thread-safety:** any thread.
    /// **Lifetime:** `glob` is moved into the pattern.
    Pattern(std::string glob) noexcept : text_(std::move(glob)) {}

    /// The grammar this pattern is written in.
    /// **Thread-safety:** any thread.
    PatternKind kind() const noexcept { return kind_; }
    /// The pattern as written.
    /// **Thread-safety:** any thread.
    /// **Lifetime:** valid while this Pattern lives and is not assigned to.
    const std::string& text() const noexcept { return text_; }
    /// The token separator: '.' or the chosen one for NATS, '/' for MQTT, '\0' for globs.
    /// **Thread-safety:** any thread.
    char separator() const noexcept { return separator_; }

    /// True if `subject` matches under this pattern's grammar (the rules of `glob_match`,
    /// `nats_match` or `mqtt_match`); never throws, the pattern having been validated when it
    /// was made.
    /// **Thread-safety:** any thread, concurrently with other const calls.
    /// **Lifetime:** `subject` need only live for the call.
    bool matches(std::string_view subject) const noexcept {
        switch (kind_) {
        case PatternKind::glob:
            return glob_match(text_, subject);
        case PatternKind::nats:
            return detail::nats_match_valid(text_, subject, separator_);
        case PatternKind::mqtt:
            return detail::mqtt_match_valid(text_, subject);
        }
        return false;
    }

    /// A hash of kind, text and separator, consistent with `==`.
    /// **Thread-safety:** any thread.
    std::size_t hash() const noexcept {
        std::size_t h = std::hash<std::string_view>{}(text_);
        const auto tag = (static_cast<std::size_t>(kind_) << 8) |
                         static_cast<std::size_t>(static_cast<unsigned char>(separator_));
        return h ^ (tag + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
    }

    /// True when kind, separator and text (byte for byte) are equal: then the broker keeps one
    /// entry for both.
    /// **Thread-safety:** any thread.
    friend bool operator==(const Pattern& a, const Pattern& b) noexcept {
        return a.kind_ == b.kind_ && a.separator_ == b.separator_ && a.text_ == b.text_;
    }

private:
    Pattern(PatternKind kind, std::string text, char separator) noexcept
        : text_(std::move(text)), kind_(kind), separator_(separator) {}

    friend Pattern nats_pattern(std::string_view text, char separator);
    friend Pattern mqtt_pattern(std::string_view text);

    std::string text_;
    PatternKind kind_ = PatternKind::glob;
    char separator_ = '\0';
};

/// A Redis glob pattern with the text `text` (the grammar of `glob_match`). Never throws
/// `pattern_error`.
/// **Thread-safety:** pure function.
/// **Lifetime:** the bytes are copied; `text` need only live for the call.
inline Pattern glob_pattern(std::string_view text) {
    return Pattern(text);
}

/// A NATS subject pattern with tokens split on `separator` (the grammar of `nats_match`), e.g.
/// `nats_pattern("events.*.created")` or `nats_pattern("events:>", ':')`.
/// Throws `pattern_error` naming the pattern and the offending position if it is invalid.
/// **Thread-safety:** pure function.
/// **Lifetime:** the bytes are copied; `text` need only live for the call.
inline Pattern nats_pattern(std::string_view text, char separator) {
    detail::validate_nats(text, separator);
    return Pattern(PatternKind::nats, std::string(text), separator);
}

/// An MQTT topic filter (the grammar of `mqtt_match`), e.g. `mqtt_pattern("sensors/+/temp/#")`.
/// Throws `pattern_error` naming the filter and the offending position if it is invalid.
/// **Thread-safety:** pure function.
/// **Lifetime:** the bytes are copied; `text` need only live for the call.
inline Pattern mqtt_pattern(std::string_view text) {
    detail::validate_mqtt(text);
    return Pattern(PatternKind::mqtt, std::string(text), '/');
}

HERALD_NAMESPACE_END

/// Hashes a `herald::Pattern` (kind, text and separator), for unordered containers.
/// **Thread-safety:** stateless; any thread.
template <>
struct std::hash<herald::Pattern> {
    /// `p.hash()`.
    /// **Thread-safety:** any thread.
    std::size_t operator()(const herald::Pattern& p) const noexcept { return p.hash(); }
};
