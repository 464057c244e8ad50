// Differential test: herald::nats_pattern / nats_match against a real nats-server.
//
// The test starts its own nats-server on 127.0.0.1 and a free port and speaks the text protocol
// (CONNECT with verbose:false, SUB, PUB, PING). Each generated pattern is sent as a SUB: the
// server's -ERR (or its silence) says whether it is a valid subject, which must agree with
// whether herald::nats_pattern throws. Each generated subject is then published once and the MSG
// lines say which subscriptions matched; every (valid pattern, subject) pair is one case.
// Every case is checked a second time with the separator ':' instead of '.' (the bytes '.' and
// ':' swapped in pattern and subject), against the same server verdict: the server only knows
// '.', so that half is herald checked against itself through a bijection.
//
// Usage: herald_conformance_nats <path-to-nats-server>

#include "conformance_support.hpp"

#include <herald/pattern.hpp>

#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

namespace {

using conformance::Connection;
using conformance::Random;
using conformance::show;

// Whitespace can not travel in the text protocol, so the tokens have none. They include the
// wildcards inside longer tokens (literal there), '$', NUL and bytes >= 0x80.
const std::vector<std::string> pattern_tokens = {"a",
                                                 "a",
                                                 "b",
                                                 "c",
                                                 "*",
                                                 "*",
                                                 "*",
                                                 ">",
                                                 "a*",
                                                 "*a",
                                                 "a>",
                                                 ">a",
                                                 "ab",
                                                 "foo",
                                                 "$x",
                                                 "\x80\x81",
                                                 "-",
                                                 "a:b",
                                                 std::string("n\0l", 3)};
const std::vector<std::string> subject_tokens = {
    "a",  "a",        "b", "c",  "ab", "foo", "$x",  "*",    ">",
    "a*", "\x80\x81", "-", "a>", "*a", ">a",  "a:b", "\x01", std::string("n\0l", 3)};

std::string join(const std::vector<std::string>& tokens) {
    std::string s;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        if (i > 0) {
            s += '.';
        }
        s += tokens[i];
    }
    return s;
}

std::vector<std::string> random_tokens(Random& rng, const std::vector<std::string>& alphabet,
                                       std::size_t max_tokens) {
    std::vector<std::string> t;
    const std::size_t n = 1 + rng.below(max_tokens);
    for (std::size_t i = 0; i < n; ++i) {
        t.push_back(rng.pick(alphabet));
    }
    return t;
}

// Occasionally breaks a token list the ways nats-server rejects: empty tokens anywhere, '>'
// before the end.
std::string maybe_break(Random& rng, std::vector<std::string> tokens) {
    if (rng.chance(12)) {
        tokens.insert(tokens.begin() + static_cast<std::ptrdiff_t>(rng.below(tokens.size() + 1)),
                      "");
    }
    if (rng.chance(8) && tokens.size() > 1) {
        tokens[rng.below(tokens.size() - 1)].assign(1, '>');
    }
    return join(tokens);
}

// A pattern that matches `subject_tokens` (or nearly): some tokens become '*', the tail '>'.
std::string pattern_from(Random& rng, std::vector<std::string> tokens) {
    for (std::string& t : tokens) {
        if (rng.chance(30)) {
            // assign(1, c), not = "*": GCC 12 at -O3 reports the const char* assignment as an
            // overlapping memcpy (-Wrestrict, a known false positive).
            t.assign(1, '*');
        } else if (rng.chance(5)) {
            t = rng.pick(pattern_tokens);
        }
    }
    if (rng.chance(30)) {
        tokens.resize(rng.below(tokens.size()) + 1);
        tokens.back().assign(1, '>');
    }
    if (rng.chance(10)) {
        tokens.push_back(rng.chance(50) ? "*" : "a");
    }
    return maybe_break(rng, std::move(tokens));
}

std::string swap_dot_colon(std::string s) {
    for (char& c : s) {
        if (c == '.') {
            c = ':';
        } else if (c == ':') {
            c = '.';
        }
    }
    return s;
}

struct Batch {
    std::vector<std::string> patterns;
    std::vector<std::string> subjects;
};

Batch make_batch(Random& rng, std::size_t patterns, std::size_t subjects) {
    Batch b;
    std::vector<std::vector<std::string>> subject_lists;
    for (std::size_t i = 0; i < subjects; ++i) {
        std::vector<std::string> t = random_tokens(rng, subject_tokens, 6);
        subject_lists.push_back(t);
        std::string s = join(t);
        if (rng.chance(6)) {
            // an invalid subject: nats-server delivers it to nobody
            const std::size_t at = rng.below(s.size() + 1);
            s.insert(at, 1, '.'); // a char, not "." (see pattern_from)
        }
        b.subjects.push_back(std::move(s));
    }
    std::unordered_set<std::string> seen;
    while (b.patterns.size() < patterns) {
        std::string p = rng.chance(70) ? pattern_from(rng, rng.pick(subject_lists))
                                       : maybe_break(rng, random_tokens(rng, pattern_tokens, 5));
        if (seen.insert(p).second) {
            b.patterns.push_back(std::move(p));
        }
    }
    return b;
}

bool herald_accepts(const std::string& pattern, char separator) {
    try {
        (void)herald::nats_pattern(pattern, separator);
        return true;
    } catch (const herald::pattern_error&) {
        return false;
    }
}

// Reads lines up to the next PONG; returns them (without the PONG).
std::vector<std::string> until_pong(Connection& c) {
    std::vector<std::string> lines;
    for (;;) {
        std::string line = c.read_line();
        if (line == "PONG") {
            return lines;
        }
        if (line == "PING") {
            c.send("PONG\r\n");
            continue;
        }
        if (line.rfind("MSG ", 0) == 0) {
            const std::size_t last_space = line.rfind(' ');
            const std::size_t size = std::stoul(line.substr(last_space + 1));
            c.read_exact(size + 2);
        }
        lines.push_back(std::move(line));
    }
}

void run_batch(Connection& c, const Batch& b, unsigned long& next_sid, conformance::Tally& validity,
               conformance::Tally& matching) {
    // Subscribe to every pattern, each followed by a PING so that each SUB's -ERR (if any)
    // can be told apart.
    std::string out;
    for (std::size_t i = 0; i < b.patterns.size(); ++i) {
        out += "SUB " + b.patterns[i] + " " + std::to_string(next_sid + i) + "\r\nPING\r\n";
    }
    c.send(out);
    std::vector<bool> valid(b.patterns.size());
    for (std::size_t i = 0; i < b.patterns.size(); ++i) {
        const std::vector<std::string> lines = until_pong(c);
        bool error = false;
        for (const std::string& l : lines) {
            if (l.rfind("-ERR", 0) == 0) {
                error = true;
                if (l.find("Invalid Subject") == std::string::npos) {
                    throw std::runtime_error("unexpected error from nats-server: " + l);
                }
            }
        }
        valid[i] = !error;
        if (error) {
            validity.count_positive();
        }
        const bool ours = herald_accepts(b.patterns[i], '.');
        const bool ours_colon = herald_accepts(swap_dot_colon(b.patterns[i]), ':');
        validity.check(ours == valid[i] && ours_colon == valid[i],
                       "pattern " + show(b.patterns[i]) + ": nats-server " +
                           (valid[i] ? "accepts" : "rejects") + " it, herald " +
                           (ours ? "accepts" : "rejects") + " it (with ':' " +
                           (ours_colon ? "accepts" : "rejects") + ")");
    }

    out.clear();
    for (const std::string& s : b.subjects) {
        out += "PUB " + s + " 1\r\nx\r\nPING\r\n";
    }
    c.send(out);
    for (const std::string& s : b.subjects) {
        std::vector<bool> server(b.patterns.size(), false);
        for (const std::string& l : until_pong(c)) {
            if (l.rfind("MSG ", 0) != 0) {
                throw std::runtime_error("unexpected line from nats-server: " + show(l));
            }
            // MSG <subject> <sid> [reply-to] <#bytes>
            const std::size_t sid_start = l.find(' ', 4) + 1;
            const std::size_t sid_end = l.find(' ', sid_start);
            const unsigned long sid = std::stoul(l.substr(sid_start, sid_end - sid_start));
            server.at(sid - next_sid) = true;
        }
        for (std::size_t p = 0; p < b.patterns.size(); ++p) {
            if (!valid[p]) {
                continue;
            }
            const bool ours = herald::nats_match(b.patterns[p], s);
            const bool ours_colon =
                herald::nats_match(swap_dot_colon(b.patterns[p]), swap_dot_colon(s), ':');
            if (server[p]) {
                matching.count_positive();
            }
            matching.check(ours == server[p] && ours_colon == server[p],
                           "pattern " + show(b.patterns[p]) + " subject " + show(s) +
                               ": nats-server says " + (server[p] ? "match" : "no match") +
                               ", herald says " + (ours ? "match" : "no match") + " (with ':' " +
                               (ours_colon ? "match" : "no match") + ")");
        }
    }

    out.clear();
    for (std::size_t i = 0; i < b.patterns.size(); ++i) {
        if (valid[i]) {
            out += "UNSUB " + std::to_string(next_sid + i) + "\r\n";
        }
    }
    out += "PING\r\n";
    c.send(out);
    until_pong(c);
    next_sid += b.patterns.size();
}

struct NatsServer {
    int port = 0;
    std::unique_ptr<conformance::ChildProcess> process;
    std::unique_ptr<Connection> connection;
    std::string info;
};

NatsServer start_nats(const std::string& path) {
    for (int attempt = 0; attempt < 3; ++attempt) {
        NatsServer s;
        s.port = conformance::free_loopback_port();
        s.process = std::make_unique<conformance::ChildProcess>(
            std::vector<std::string>{path, "-a", "127.0.0.1", "-p", std::to_string(s.port)});
        try {
            s.connection = std::make_unique<Connection>(s.port);
            s.info = s.connection->read_line();
            if (s.info.rfind("INFO ", 0) != 0) {
                throw std::runtime_error("no INFO from nats-server: " + show(s.info));
            }
            s.connection->send(
                "CONNECT {\"verbose\":false,\"pedantic\":false,\"echo\":true,\"protocol\":1}\r\n"
                "PING\r\n");
            until_pong(*s.connection);
            return s;
        } catch (const std::exception& e) {
            std::printf("start attempt %d on port %d failed: %s\n", attempt + 1, s.port, e.what());
        }
    }
    throw std::runtime_error("could not start nats-server");
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s <path-to-nats-server>\n", argv[0]);
        return 2;
    }
    try {
        NatsServer server = start_nats(argv[1]);
        const std::size_t at = server.info.find("\"version\":\"");
        std::printf(
            "nats-server %s on 127.0.0.1:%d\n",
            at == std::string::npos
                ? "?"
                : server.info.substr(at + 11, server.info.find('"', at + 11) - at - 11).c_str(),
            server.port);
        conformance::Tally validity("nats pattern validity", "rejected by the server");
        conformance::Tally matching("nats matching", "matching");
        Random rng(20261123);
        unsigned long next_sid = 1;
        for (int i = 0; i < 150; ++i) {
            run_batch(*server.connection, make_batch(rng, 60, 60), next_sid, validity, matching);
        }
        server.connection.reset();
        server.process->stop();
        const int v = validity.finish(1000);
        const int m = matching.finish(10000);
        return v != 0 || m != 0 ? 1 : 0;
    } catch (const std::exception& e) {
        std::printf("FAILED: %s\n", e.what());
        return 1;
    }
}
