#pragma once
// Shared plumbing of the differential tests: the deterministic random generator (the one in
// tests/support), a child server process on a free loopback port that dies with the test, and
// a buffered TCP connection.
// POSIX only (the servers these tests talk to are POSIX programs too).

#include <arpa/inet.h>
#include <csignal>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_random.hpp"

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace conformance {

/// The tests' shared splitmix64 (tests/support/test_random.hpp).
using Random = herald_test::Random;

/// `bytes` with non-printable bytes escaped, for diagnostics.
inline std::string show(std::string_view bytes) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out = "\"";
    for (const char ch : bytes) {
        const auto b = static_cast<unsigned char>(ch);
        if (b == '\\' || b == '"') {
            out += '\\';
            out += ch;
        } else if (b >= 0x20 && b < 0x7f) {
            out += ch;
        } else {
            out += "\\x";
            out += hex[b >> 4];
            out += hex[b & 0xf];
        }
    }
    if (out.size() > 160) {
        out = out.substr(0, 150) + "...(" + std::to_string(bytes.size()) + " bytes)";
    }
    return out + "\"";
}

/// A port on 127.0.0.1 that was free a moment ago (the OS picks it).
inline int free_loopback_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        throw std::runtime_error("socket() failed");
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        ::close(fd);
        throw std::runtime_error("could not bind an ephemeral loopback port");
    }
    const int port = ntohs(addr.sin_port);
    ::close(fd);
    return port;
}

/// A server process started by the test. It is killed when this object is destroyed, and also
/// if the test process dies first (PR_SET_PDEATHSIG), so no server outlives a failed run.
class ChildProcess {
public:
    /// Starts `argv[0]` (an absolute path) with `argv`; with `quiet`, its stdout and stderr go
    /// to /dev/null (start-up failures are still reported by the caller, which cannot connect).
    explicit ChildProcess(std::vector<std::string> argv, bool quiet = true) {
        std::vector<char*> args;
        for (std::string& a : argv) {
            args.push_back(a.data());
        }
        args.push_back(nullptr);
        const pid_t parent = ::getpid();
        pid_ = ::fork();
        if (pid_ < 0) {
            throw std::runtime_error("fork() failed");
        }
        if (pid_ == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent) {
                ::_exit(127); // the parent died between fork and prctl
            }
            if (quiet) {
                const int null_fd = ::open("/dev/null", O_WRONLY);
                if (null_fd >= 0) {
                    ::dup2(null_fd, STDOUT_FILENO);
                    ::dup2(null_fd, STDERR_FILENO);
                    ::close(null_fd);
                }
            }
            ::execv(args[0], args.data());
            std::fprintf(stderr, "execv(%s) failed: %s\n", args[0], std::strerror(errno));
            ::_exit(127);
        }
    }
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;
    ~ChildProcess() { stop(); }

    /// True while the process has not exited.
    bool running() {
        if (pid_ <= 0) {
            return false;
        }
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return false;
        }
        return true;
    }

    void stop() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            int status = 0;
            ::waitpid(pid_, &status, 0);
            pid_ = -1;
        }
    }

private:
    pid_t pid_ = -1;
};

/// A blocking TCP connection to 127.0.0.1 with a read buffer.
class Connection {
public:
    /// Connects, retrying for up to `patience` (the server may still be starting).
    explicit Connection(int port, std::chrono::milliseconds patience = std::chrono::seconds(10)) {
        const auto deadline = std::chrono::steady_clock::now() + patience;
        for (;;) {
            fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
            sockaddr_in addr{};
            addr.sin_family = AF_INET;
            addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            addr.sin_port = htons(static_cast<std::uint16_t>(port));
            if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
                break;
            }
            ::close(fd_);
            fd_ = -1;
            if (std::chrono::steady_clock::now() > deadline) {
                throw std::runtime_error("could not connect to 127.0.0.1:" + std::to_string(port));
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        // A stuck server must fail the test, not hang it.
        timeval timeout{30, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }

    void send(std::string_view bytes) {
        while (!bytes.empty()) {
            const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n <= 0) {
                throw std::runtime_error("send() failed: " + std::string(std::strerror(errno)));
            }
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
    }

    /// The next line without its "\r\n".
    std::string read_line() {
        for (;;) {
            const std::size_t eol = buffer_.find("\r\n", start_);
            if (eol != std::string::npos) {
                std::string line = buffer_.substr(start_, eol - start_);
                start_ = eol + 2;
                return line;
            }
            fill();
        }
    }

    /// Exactly `n` bytes.
    std::string read_exact(std::size_t n) {
        while (buffer_.size() - start_ < n) {
            fill();
        }
        std::string out = buffer_.substr(start_, n);
        start_ += n;
        return out;
    }

private:
    void fill() {
        if (start_ > 0 && start_ == buffer_.size()) {
            buffer_.clear();
            start_ = 0;
        } else if (start_ > (1u << 20)) {
            buffer_.erase(0, start_);
            start_ = 0;
        }
        char chunk[65536];
        const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
        if (n <= 0) {
            throw std::runtime_error(n == 0
                                         ? "connection closed by the server"
                                         : "recv() failed: " + std::string(std::strerror(errno)));
        }
        buffer_.append(chunk, static_cast<std::size_t>(n));
    }

    int fd_ = -1;
    std::string buffer_;
    std::size_t start_ = 0;
};

/// Counts cases and disagreements and prints the first few disagreements.
class Tally {
public:
    /// `positive` names what count_positive() counts, e.g. "matching".
    Tally(std::string name, std::string positive)
        : name_(std::move(name)), positive_(std::move(positive)) {}

    void check(bool agree, const std::string& description) {
        ++cases_;
        if (!agree) {
            if (++disagreements_ <= 20) {
                std::printf("DISAGREEMENT %s\n", description.c_str());
            }
        }
    }
    void count_positive() { ++positives_; }

    /// Prints the summary; the process exit code.
    int finish(std::size_t minimum_cases) const {
        std::printf("%s: %zu cases (%zu %s), %zu disagreements\n", name_.c_str(), cases_,
                    positives_, positive_.c_str(), disagreements_);
        if (cases_ < minimum_cases) {
            std::printf("%s: FAILED: fewer than %zu cases\n", name_.c_str(), minimum_cases);
            return 1;
        }
        return disagreements_ == 0 ? 0 : 1;
    }

private:
    std::string name_;
    std::size_t cases_ = 0;
    std::string positive_;
    std::size_t positives_ = 0;
    std::size_t disagreements_ = 0;
};

} // namespace conformance
