// Differential test: herald::glob_match against a real redis-server's PSUBSCRIBE/PUBLISH.
//
// The test starts its own redis-server on 127.0.0.1 and a free port, subscribes one connection to
// a batch of generated patterns, publishes generated channel names from a second connection and
// reads the pmessages: each names the pattern that matched, so every (pattern, channel) pair of a
// batch is one case with the server's verdict. Patterns and channels are generated from a fixed
// seed and include brackets, ranges, escapes, bytes >= 0x80, NUL bytes and nested stars around
// Redis's nesting limit.
//
// Usage: herald_conformance_redis_glob <path-to-redis-server>

#include "conformance_support.hpp"

#include <herald/pattern.hpp>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace {

using conformance::Connection;
using conformance::Random;
using conformance::show;

// ---- a minimal RESP2 client --------------------------------------------------------------------

struct Reply {
    char type = 0; // '+', '-', ':', '$', '*'
    std::string text;
    long long integer = 0;
    bool null = false;
    std::vector<Reply> items;
};

// Built by appending to one string: `"literal" + std::string&&` inserts at the front, which
// GCC 12 at -O3 reports as an overlapping memcpy (-Wrestrict, a known false positive).
std::string command(const std::vector<std::string>& args) {
    std::string out = "*";
    out += std::to_string(args.size());
    out += "\r\n";
    for (const std::string& a : args) {
        out += '$';
        out += std::to_string(a.size());
        out += "\r\n";
        out += a;
        out += "\r\n";
    }
    return out;
}

Reply read_reply(Connection& c) {
    const std::string line = c.read_line();
    if (line.empty()) {
        throw std::runtime_error("empty RESP line");
    }
    Reply r;
    r.type = line[0];
    const std::string rest = line.substr(1);
    switch (r.type) {
    case '+':
    case '-':
        r.text = rest;
        break;
    case ':':
        r.integer = std::stoll(rest);
        break;
    case '$': {
        const long long n = std::stoll(rest);
        if (n < 0) {
            r.null = true;
        } else {
            r.text = c.read_exact(static_cast<std::size_t>(n));
            c.read_exact(2);
        }
        break;
    }
    case '*': {
        const long long n = std::stoll(rest);
        for (long long i = 0; i < n; ++i) {
            r.items.push_back(read_reply(c));
        }
        break;
    }
    default:
        throw std::runtime_error("unexpected RESP reply: " + show(line));
    }
    return r;
}

// ---- generators
// -----------------------------------------------------------------------------------

// Bytes that exercise every branch of the matcher, weighted towards the special ones.
const std::vector<char> pattern_bytes = {'a',    'a',    'b',    'c',    '*', '*',  '?',  '[', '[',
                                         ']',    ']',    '^',    '-',    '-', '\\', '\\', '!', '\0',
                                         '\x80', '\xff', '\x7f', '\x01', ':', 'z',  'A'};
const std::vector<char> subject_bytes = {'a',  'a', 'b',  'c',    '-',    ']',    '^',
                                         '\\', '!', '\0', '\x80', '\xff', '\x7f', '*',
                                         '?',  '[', ':',  'z',    'A'};

std::string random_bytes(Random& rng, const std::vector<char>& alphabet, std::size_t max_len) {
    std::string s;
    const std::size_t n = rng.below(max_len + 1);
    for (std::size_t i = 0; i < n; ++i) {
        s += rng.pick(alphabet);
    }
    return s;
}

// Glob-shaped patterns of the kind people write, with the odd corner mixed in.
std::string realistic_pattern(Random& rng) {
    static const std::vector<std::string> pieces = {
        "news",  "sensor", ":",    ".",     "*",   "?",    "[0-9]",       "[a-c]",      "[^a]",
        "[z-a]", "\\*",    "\\?",  "\\[",   "[]]", "[^]",  "[a-]",        "[",          "42",
        "ab",    "\\",     "[!a]", "[\\]]", "**",  "\x80", "[\x80-\xff]", "[\x7f-\x80]"};
    std::string s;
    const std::size_t n = rng.below(5);
    for (std::size_t i = 0; i < n; ++i) {
        s += rng.pick(pieces);
    }
    return s;
}

// A subject built to fit `pattern` roughly, so that a good share of the cases match.
std::string instantiate(Random& rng, const std::string& pattern) {
    std::string s;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        const char c = pattern[i];
        if (c == '*') {
            const std::size_t n = rng.below(4);
            for (std::size_t k = 0; k < n; ++k) {
                s += rng.pick(subject_bytes);
            }
        } else if (c == '?') {
            s += rng.pick(subject_bytes);
        } else if (c == '[') {
            const std::size_t close = pattern.find(']', i + 1);
            const std::size_t end = close == std::string::npos ? pattern.size() : close;
            if (end > i + 1) {
                s += pattern[i + 1 + rng.below(end - i - 1)];
            } else {
                s += rng.pick(subject_bytes);
            }
            i = end;
        } else if (c == '\\' && i + 1 < pattern.size()) {
            s += pattern[++i];
        } else {
            s += c;
        }
        if (rng.chance(5)) {
            s += rng.pick(subject_bytes); // a little noise
        }
    }
    return s;
}

std::string repeat(std::string_view unit, std::size_t times) {
    std::string s;
    for (std::size_t i = 0; i < times; ++i) {
        s += unit;
    }
    return s;
}

struct Batch {
    std::vector<std::string> patterns;
    std::vector<std::string> subjects;
};

void add_unique(std::vector<std::string>& list, std::unordered_set<std::string>& seen,
                std::string value) {
    if (seen.insert(value).second) {
        list.push_back(std::move(value));
    }
}

Batch random_batch(Random& rng, std::size_t patterns, std::size_t subjects) {
    Batch b;
    std::unordered_set<std::string> seen;
    while (b.patterns.size() < patterns) {
        add_unique(b.patterns, seen,
                   rng.chance(60) ? random_bytes(rng, pattern_bytes, 12) : realistic_pattern(rng));
    }
    for (std::size_t i = 0; i < subjects; ++i) {
        b.subjects.push_back(rng.chance(60) ? instantiate(rng, rng.pick(b.patterns))
                                            : random_bytes(rng, subject_bytes, 10));
    }
    return b;
}

// Patterns that are small mutations of one seed pattern, with subjects instantiated from them:
// near misses, and many patterns matching the same subject.
Batch family_batch(Random& rng, std::size_t patterns, std::size_t subjects) {
    Batch b;
    std::unordered_set<std::string> seen;
    const std::string seed = realistic_pattern(rng) + random_bytes(rng, pattern_bytes, 4);
    std::size_t attempts = 0;
    while (b.patterns.size() < patterns && ++attempts < patterns * 20) {
        std::string p = seed;
        const std::size_t edits = 1 + rng.below(3);
        for (std::size_t e = 0; e < edits; ++e) {
            const std::size_t at = rng.below(p.size() + 1);
            switch (rng.below(3)) {
            case 0:
                p.insert(at, 1, rng.pick(pattern_bytes));
                break;
            case 1:
                if (at < p.size()) {
                    p.erase(at, 1);
                }
                break;
            default:
                if (at < p.size()) {
                    p[at] = rng.pick(pattern_bytes);
                }
                break;
            }
        }
        add_unique(b.patterns, seen, std::move(p));
    }
    for (std::size_t i = 0; i < subjects; ++i) {
        b.subjects.push_back(instantiate(rng, rng.pick(b.patterns)));
    }
    return b;
}

// `first` followed by `rest`, built by appending (see `command` for why not `"b" + rest`).
std::string prefixed(char first, std::string_view rest) {
    std::string out(1, first);
    out += rest;
    return out;
}

// Stars nested around Redis's limit of 1000 nested expansions, and classic backtracking traps.
Batch nesting_batch(Random& rng) {
    Batch b;
    std::unordered_set<std::string> seen;
    for (const std::size_t k : {998u, 999u, 1000u, 1001u, 1002u, 1500u}) {
        add_unique(b.patterns, seen, repeat("*a", k));
        add_unique(b.patterns, seen, repeat("a*", k));
        add_unique(b.patterns, seen, repeat("*?", k));
        add_unique(b.patterns, seen, repeat("*a", k) + "*");
        add_unique(b.patterns, seen, repeat("?*", k));
        add_unique(b.patterns, seen, repeat("*[a]", k));
        add_unique(b.patterns, seen, repeat("*\\a", k));
        add_unique(b.patterns, seen, prefixed('b', repeat("*a", k)));
    }
    add_unique(b.patterns, seen, repeat("a*", 20) + "b");
    add_unique(b.patterns, seen, repeat("*a", 30) + "b");
    while (b.patterns.size() < 80) {
        std::string p = repeat("*a", 990 + rng.below(20));
        const std::size_t at = rng.below(p.size() + 1); // draws in a fixed order
        p.insert(at, 1, rng.pick(pattern_bytes));
        add_unique(b.patterns, seen, std::move(p));
    }
    for (const std::size_t n :
         {0u, 1u, 40u, 997u, 998u, 999u, 1000u, 1001u, 1002u, 1003u, 1500u, 2000u, 3003u}) {
        b.subjects.push_back(repeat("a", n));
        b.subjects.push_back(prefixed('b', repeat("a", n)));
        b.subjects.push_back(repeat("a", n) + "b");
    }
    return b;
}

// ---- the server ---------------------------------------------------------------------------------

struct RedisServer {
    int port = 0;
    std::unique_ptr<conformance::ChildProcess> process;
};

RedisServer start_redis(const std::string& path) {
    for (int attempt = 0; attempt < 3; ++attempt) {
        RedisServer s;
        s.port = conformance::free_loopback_port();
        s.process = std::make_unique<conformance::ChildProcess>(
            std::vector<std::string>{path, "--port", std::to_string(s.port), "--bind", "127.0.0.1",
                                     "--save", "", "--appendonly", "no", "--daemonize", "no",
                                     "--loglevel", "warning", "--logfile", "", "--databases", "1"});
        try {
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
            for (;;) {
                if (!s.process->running()) {
                    throw std::runtime_error("redis-server exited during start-up");
                }
                Connection c(s.port);
                c.send(command({"PING"}));
                const Reply r = read_reply(c);
                if (r.type == '+' && r.text == "PONG") {
                    return s;
                }
                if (std::chrono::steady_clock::now() > deadline) {
                    throw std::runtime_error("redis-server did not answer PING: " + r.text);
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
            }
        } catch (const std::exception& e) {
            std::printf("start attempt %d on port %d failed: %s\n", attempt + 1, s.port, e.what());
        }
    }
    throw std::runtime_error("could not start redis-server");
}

// Runs one batch through the server and compares every (pattern, subject) pair.
void run_batch(Connection& sub, Connection& pub, const Batch& b, conformance::Tally& tally) {
    std::vector<std::string> args = {"PSUBSCRIBE"};
    args.insert(args.end(), b.patterns.begin(), b.patterns.end());
    sub.send(command(args));
    std::unordered_map<std::string, std::size_t> index;
    for (std::size_t i = 0; i < b.patterns.size(); ++i) {
        const Reply r = read_reply(sub);
        if (r.items.size() != 3 || r.items[0].text != "psubscribe" ||
            r.items[1].text != b.patterns[i]) {
            throw std::runtime_error("unexpected PSUBSCRIBE reply");
        }
        index.emplace(b.patterns[i], i);
    }

    std::string publishes;
    for (const std::string& s : b.subjects) {
        publishes += command({"PUBLISH", s, "x"});
    }
    pub.send(publishes);
    std::vector<long long> receivers;
    for (std::size_t i = 0; i < b.subjects.size(); ++i) {
        const Reply r = read_reply(pub);
        if (r.type != ':') {
            throw std::runtime_error("unexpected PUBLISH reply: " + r.text);
        }
        receivers.push_back(r.integer);
    }

    for (std::size_t i = 0; i < b.subjects.size(); ++i) {
        std::vector<bool> server(b.patterns.size(), false);
        for (long long k = 0; k < receivers[i]; ++k) {
            const Reply m = read_reply(sub);
            if (m.items.size() != 4 || m.items[0].text != "pmessage" ||
                m.items[2].text != b.subjects[i]) {
                throw std::runtime_error("unexpected pmessage for " + show(b.subjects[i]));
            }
            server[index.at(m.items[1].text)] = true;
        }
        for (std::size_t p = 0; p < b.patterns.size(); ++p) {
            const bool ours = herald::glob_match(b.patterns[p], b.subjects[i]);
            if (server[p]) {
                tally.count_positive();
            }
            tally.check(ours == server[p], "pattern " + show(b.patterns[p]) + " subject " +
                                               show(b.subjects[i]) + ": redis-server says " +
                                               (server[p] ? "match" : "no match") +
                                               ", herald says " + (ours ? "match" : "no match"));
        }
    }

    sub.send(command({"PUNSUBSCRIBE"}));
    for (;;) {
        const Reply r = read_reply(sub);
        if (r.items.size() == 3 && r.items[0].text == "punsubscribe" && r.items[2].integer == 0) {
            break;
        }
    }
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s <path-to-redis-server>\n", argv[0]);
        return 2;
    }
    try {
        RedisServer server = start_redis(argv[1]);
        Connection sub(server.port);
        Connection pub(server.port);
        pub.send(command({"INFO", "server"}));
        const Reply info = read_reply(pub);
        const std::size_t at = info.text.find("redis_version:");
        std::printf("redis-server %s on 127.0.0.1:%d\n",
                    info.text.substr(at + 14, info.text.find('\r', at) - at - 14).c_str(),
                    server.port);

        conformance::Tally tally("redis glob", "matching");
        Random rng(20261123);
        for (int i = 0; i < 60; ++i) {
            run_batch(sub, pub, random_batch(rng, 100, 100), tally);
        }
        for (int i = 0; i < 60; ++i) {
            run_batch(sub, pub, family_batch(rng, 60, 100), tally);
        }
        run_batch(sub, pub, nesting_batch(rng), tally);
        server.process->stop();
        return tally.finish(10000);
    } catch (const std::exception& e) {
        std::printf("FAILED: %s\n", e.what());
        return 1;
    }
}
