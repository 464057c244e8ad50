// What the Redis examples need around them to run as a test: a redis-server of their own on a
// free loopback port, child processes (the example itself in another role, or redis-cli) whose
// output is read through a pipe, and bounded waits. POSIX only. Not part of herald.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace example {

using namespace std::chrono_literals;

inline int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

/// A child process with its stdout on a pipe; killed (SIGKILL) when this goes, and when the
/// parent dies.
class Child {
public:
    explicit Child(std::vector<std::string> argv, bool capture = true) {
        int fds[2] = {-1, -1};
        if (capture && ::pipe(fds) != 0) {
            throw std::runtime_error("pipe failed");
        }
        std::vector<char*> args;
        for (auto& a : argv) {
            args.push_back(a.data());
        }
        args.push_back(nullptr);
        const pid_t parent = ::getpid();
        pid_ = ::fork();
        if (pid_ == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent) {
                ::_exit(127);
            }
            const int null_fd = ::open("/dev/null", O_WRONLY);
            ::dup2(capture ? fds[1] : null_fd, STDOUT_FILENO);
            ::dup2(null_fd, STDERR_FILENO);
            if (capture) {
                ::close(fds[0]);
            }
            ::execv(args[0], args.data());
            ::_exit(127);
        }
        if (capture) {
            ::close(fds[1]);
            out_ = fds[0];
        }
    }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    ~Child() {
        kill();
        if (out_ >= 0) {
            ::close(out_);
        }
    }

    /// The next line of output, waiting up to `timeout`; empty with `ok` false at the end.
    std::string line(bool& ok, std::chrono::milliseconds timeout = 20000ms) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            if (const auto eol = buffer_.find('\n'); eol != std::string::npos) {
                std::string l = buffer_.substr(0, eol);
                buffer_.erase(0, eol + 1);
                ok = true;
                return l;
            }
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            pollfd p{out_, POLLIN, 0};
            if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
                ok = false;
                return {};
            }
            char chunk[4096];
            const ssize_t n = ::read(out_, chunk, sizeof chunk);
            if (n <= 0) {
                ok = false;
                return {};
            }
            buffer_.append(chunk, static_cast<std::size_t>(n));
        }
    }

    /// Waits for the exit; the exit status (or -1 after `timeout`, the process then killed).
    int wait(std::chrono::milliseconds timeout = 30000ms) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (pid_ > 0) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
            }
            if (std::chrono::steady_clock::now() > deadline) {
                kill();
                return -1;
            }
            std::this_thread::sleep_for(5ms);
        }
        return -1;
    }

    void kill() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            int status = 0;
            ::waitpid(pid_, &status, 0);
            pid_ = -1;
        }
    }

private:
    pid_t pid_ = -1;
    int out_ = -1;
    std::string buffer_;
};

/// A redis-server on a free port, without persistence, answering when the constructor returns.
class RedisServer {
public:
    RedisServer(const std::string& server, const std::string& cli)
        : port_(free_port()), process_({server, "--port", std::to_string(port_), "--bind",
                                        "127.0.0.1", "--save", "", "--appendonly", "no"},
                                       false) {
        for (int attempt = 0; attempt < 500; ++attempt) {
            Child ping({cli, "-p", std::to_string(port_), "PING"});
            bool ok = false;
            if (ping.line(ok, 2000ms) == "PONG") {
                return;
            }
            std::this_thread::sleep_for(10ms);
        }
        throw std::runtime_error("redis-server did not start");
    }
    int port() const noexcept { return port_; }

private:
    int port_;
    Child process_;
};

} // namespace example
